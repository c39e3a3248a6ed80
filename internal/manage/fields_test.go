package manage

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// examples returns the members of a create that sets every declared field
// to its example i.
func examples(i int) Members {
	in := Members{}
	for _, f := range Fields() {
		in[f.Name] = json.RawMessage(f.Examples[i])
	}
	return in
}

// memberJSON is a field's value in w, encoded: a copy that cannot share
// memory with w, to compare before and after.
func memberJSON(t *testing.T, f Field, w *webhook.Webhook) string {
	t.Helper()
	b, err := json.Marshal(f.value(w))
	require.NoError(t, err)
	return string(b)
}

// perturb changes the value v holds in place: a map gains a key, a slice's
// first element changes, a struct's fields change. Done through a copy, it
// reaches the original only if the copy shares memory with it.
func perturb(t *testing.T, v reflect.Value) {
	t.Helper()
	switch v.Kind() {
	case reflect.String:
		v.SetString(v.String() + "~")
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(v.Int() + 1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(v.Uint() + 1)
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Map:
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		k := reflect.New(v.Type().Key()).Elem()
		perturb(t, k)
		e := reflect.New(v.Type().Elem()).Elem()
		perturb(t, e)
		v.SetMapIndex(k, e)
	case reflect.Slice:
		if v.Len() == 0 {
			v.Set(reflect.Append(v, reflect.New(v.Type().Elem()).Elem()))
		}
		perturb(t, v.Index(0))
	case reflect.Struct:
		for i := range v.NumField() {
			perturb(t, v.Field(i))
		}
	case reflect.Pointer:
		// Change what it points to, so a copy that shares it is caught.
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		perturb(t, v.Elem())
	default:
		t.Fatalf("perturb: no rule for a %s; add one", v.Kind())
	}
}

// TestEveryFieldIsPatchableCopiedAndChangeDetected proves, for each member
// of the declaration, what adding one there must give with no other edit:
// a PATCH sets it (and only it) and writes a new version, a null resets or
// is refused, Clone copies it without sharing memory, and a changed value
// is not "unchanged".
func TestEveryFieldIsPatchableCopiedAndChangeDetected(t *testing.T) {
	require.NotEmpty(t, Fields())
	ctx := context.Background()
	for _, f := range Fields() {
		t.Run(f.Name, func(t *testing.T) {
			fx := newFixture(t)
			def := fx.svc.defaults()
			base, _, err := fx.svc.Create(ctx, examples(0))
			require.NoError(t, err)

			t.Run("examples", func(t *testing.T) {
				a, b := Clone(base), Clone(base)
				require.NoError(t, f.Set(a, json.RawMessage(f.Examples[0])))
				require.NoError(t, f.Set(b, json.RawMessage(f.Examples[1])))
				assert.False(t, f.Equal(a, b), "the two examples differ")
				assert.False(t, f.Equal(a, def), "the first example is not the default")
			})

			t.Run("patchable", func(t *testing.T) {
				want := Clone(base)
				require.NoError(t, f.Set(want, json.RawMessage(f.Examples[1])))
				got, _, err := fx.svc.Patch(ctx, base.ID, Members{f.Name: json.RawMessage(f.Examples[1])}, 0)
				require.NoError(t, err)
				assert.True(t, f.Equal(want, got), "patched to %s", f.Examples[1])
				assert.Equal(t, base.Version+1, got.Version, "a change is written, not taken for a no-op")
				for _, g := range Fields() {
					if g.Name != f.Name {
						assert.True(t, g.Equal(base, got), "%s is left as it was", g.Name)
					}
				}
				stored := fx.store.Webhook(base.ID)
				assert.True(t, f.Equal(want, stored), "and stored")

				again, _, err := fx.svc.Patch(ctx, base.ID, Members{f.Name: json.RawMessage(f.Examples[1])}, 0)
				require.NoError(t, err)
				assert.Equal(t, got.Version, again.Version, "the same value again writes nothing")
			})

			t.Run("null", func(t *testing.T) {
				fx := newFixture(t)
				w, _, err := fx.svc.Create(ctx, examples(0))
				require.NoError(t, err)
				snap := fx.store.Snapshot()
				got, _, err := fx.svc.Patch(ctx, w.ID, Members{f.Name: json.RawMessage(`null`)}, 0)
				if f.Required() {
					assert.Equal(t, webhook.EInvalid, webhook.ErrorCode(err))
					assert.Equal(t, f.Name, webhook.ErrorField(err))
					assert.Equal(t, snap, fx.store.Snapshot(), "nothing changed")
					return
				}
				require.NoError(t, err)
				assert.True(t, f.Equal(def, got), "null restores the default")
				assert.Equal(t, w.Version+1, got.Version)
			})

			t.Run("copied", func(t *testing.T) {
				before := memberJSON(t, f, base)
				c := Clone(base)
				require.True(t, f.Equal(base, c), "the copy has the value")
				require.True(t, Unchanged(base, c))
				perturb(t, reflect.ValueOf(f.value(c)).Elem())
				assert.Equal(t, before, memberJSON(t, f, base), "changing the copy leaves the original")
				assert.False(t, f.Equal(base, c), "the change is seen")
				assert.False(t, Unchanged(base, c), "and is not a no-op")
			})
		})
	}
}

// TestCloneSharesNothing fills every map, slice and pointer of a webhook,
// declared or not, and checks that Clone's copy shares none of them.
func TestCloneSharesNothing(t *testing.T) {
	w := &webhook.Webhook{}
	v := reflect.ValueOf(w).Elem()
	for i := range v.NumField() {
		if fv := v.Field(i); fv.CanSet() {
			switch fv.Kind() {
			case reflect.Map, reflect.Slice:
				perturb(t, fv)
			case reflect.Pointer:
				fv.Set(reflect.New(fv.Type().Elem()))
			}
		}
	}
	c := reflect.ValueOf(Clone(w)).Elem()
	assert.Equal(t, w, c.Addr().Interface(), "the copy is equal")
	for i := range v.NumField() {
		switch v.Field(i).Kind() {
		case reflect.Map, reflect.Slice, reflect.Pointer:
			assert.NotEqual(t, v.Field(i).Pointer(), c.Field(i).Pointer(), "%s is shared", v.Type().Field(i).Name)
		}
	}
}

func TestMemberNames(t *testing.T) {
	names := MemberNames()
	assert.Len(t, names, len(Fields())+1)
	assert.Contains(t, names, CredentialsMember)
	for _, f := range Fields() {
		assert.Contains(t, names, f.Name)
	}
}
