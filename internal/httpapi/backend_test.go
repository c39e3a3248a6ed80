package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/devtools/testenv"
	"github.com/systemprompt-io/webhooks/internal/manage"
	"github.com/systemprompt-io/webhooks/internal/secrets"
	"github.com/systemprompt-io/webhooks/internal/store"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// The webhook service is what the API serves.
var _ Webhooks = (*manage.Service)(nil)

// backendEnv is the API on the real store (fresh tables on backend b) and the
// real KMS sealer (a fresh key on the emulator).
type backendEnv struct {
	*env
	client *dynamodb.Client
	tables store.Tables
	sealer *secrets.KMS
}

func newBackendEnv(t *testing.T, b testenv.Backend) *backendEnv {
	t.Helper()
	ctx := context.Background()
	s := uuid.NewString()[:8]
	tables := store.Tables{Webhooks: "api-wh-" + s, Deliveries: "api-dl-" + s}
	require.NoError(t, store.CreateTables(ctx, b.Clients.DynamoDB, tables))
	key, err := b.Clients.KMS.CreateKey(ctx, &kms.CreateKeyInput{})
	require.NoError(t, err)
	sealer := secrets.NewKMS(b.Clients.KMS, aws.ToString(key.KeyMetadata.KeyId))

	logs := &bytes.Buffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	svc, err := manage.New(manage.Options{
		Store:          store.New(b.Clients.DynamoDB, tables),
		Secrets:        sealer,
		Mask:           secrets.Mask,
		GenerateSecret: secrets.GenerateHMACSecret,
		Logger:         log,
	})
	require.NoError(t, err)
	h, err := New(Options{Webhooks: svc, Logger: log})
	require.NoError(t, err)
	return &backendEnv{env: &env{t: t, h: h, logs: logs}, client: b.Clients.DynamoDB, tables: tables, sealer: sealer}
}

// scan returns every item of the webhooks table as sorted JSON lines: what
// "nothing changed" compares.
func (b *backendEnv) scan() string {
	b.t.Helper()
	var lines []string
	p := dynamodb.NewScanPaginator(b.client, &dynamodb.ScanInput{TableName: aws.String(b.tables.Webhooks), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		require.NoError(b.t, err)
		for _, it := range out.Items {
			var m map[string]any
			require.NoError(b.t, attributevalue.UnmarshalMap(it, &m))
			j, err := json.Marshal(m)
			require.NoError(b.t, err)
			lines = append(lines, string(j))
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// forEachBackend runs f against every DynamoDB backend.
func forEachBackend(t *testing.T, f func(t *testing.T, e *backendEnv)) {
	for _, b := range testenv.DynamoBackends(t) {
		t.Run(b.Name, func(t *testing.T) { f(t, newBackendEnv(t, b)) })
	}
}

// with points the env's helpers at a subtest.
func (b *backendEnv) with(t *testing.T) *backendEnv {
	c := *b
	e := *b.env
	e.t = t
	c.env = &e
	return &c
}

func TestBackendLifecycle(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *backendEnv) {
		got := e.create(`{"name":"life","url":"https://example.com/hook","events":["agent.started","custom"],
			"auth_type":"bearer","auth_credentials":{"token":"tok-0123456789"},"headers":{"X-Team":"a"}}`)
		path := "/webhooks/" + got.ID
		assert.Equal(t, map[string]string{"token": "****6789"}, got.AuthCredentials)
		assert.Equal(t, int64(1), got.Version)

		rec := e.do("GET", path, "")
		require.Equal(t, 200, rec.Code, rec.Body.String())
		assert.Equal(t, got, decode[webhookOut](t, rec))

		// Stale version, then the right one.
		snap := e.scan()
		assertError(t, e.do("PATCH", path, `{"name":"x","version":2}`), 409, webhook.EConflict, "")
		assert.Equal(t, snap, e.scan())
		rec = e.do("PATCH", path, `{"name":"renamed","events":["custom"]}`, "If-Match", `"1"`)
		require.Equal(t, 200, rec.Code, rec.Body.String())
		p := decode[webhookOut](t, rec)
		assert.Equal(t, int64(2), p.Version)
		assert.Equal(t, `"2"`, rec.Header().Get("ETag"))
		assertError(t, e.do("PATCH", path, `{"name":"y"}`, "If-Match", `"1"`), 409, webhook.EConflict, "")

		// The subscription index follows the events.
		list := func(q string) []string {
			rec := e.do("GET", "/webhooks"+q, "")
			require.Equal(t, 200, rec.Code, rec.Body.String())
			var l struct {
				Items []webhookOut `json:"items"`
			}
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &l))
			var ids []string
			for _, w := range l.Items {
				ids = append(ids, w.ID)
			}
			return ids
		}
		assert.Equal(t, []string{got.ID}, list("?event=custom"))
		assert.Empty(t, list("?event=agent.started"))
		assert.Equal(t, []string{got.ID}, list("?status=active"))

		// Pause and resume, idempotently.
		rec = e.do("POST", path+"/pause", "")
		require.Equal(t, 200, rec.Code, rec.Body.String())
		assert.Equal(t, int64(3), decode[webhookOut](t, rec).Version)
		rec = e.do("POST", path+"/pause", "")
		assert.Equal(t, int64(3), decode[webhookOut](t, rec).Version)
		assert.Empty(t, list("?status=active"))
		assert.Equal(t, []string{got.ID}, list("?status=inactive"))
		rec = e.do("POST", path+"/resume", "")
		assert.Equal(t, "active", decode[webhookOut](t, rec).Status)

		rec = e.do("GET", path+"/stats", "")
		require.Equal(t, 200, rec.Code, rec.Body.String())
		assert.Contains(t, rec.Body.String(), `"total_deliveries":0`)

		// Delete, then everything about it is 404.
		assert.Equal(t, http.StatusNoContent, e.do("DELETE", path, "").Code)
		assertError(t, e.do("GET", path, ""), 404, webhook.ENotFound, "")
		assertError(t, e.do("PATCH", path, `{"name":"z"}`), 404, webhook.ENotFound, "")
		assertError(t, e.do("PATCH", path, `{"name":"z","version":4}`), 404, webhook.ENotFound, "")
		assertError(t, e.do("DELETE", path, ""), 404, webhook.ENotFound, "")
		assertError(t, e.do("POST", path+"/resume", ""), 404, webhook.ENotFound, "")
		assert.Empty(t, list(""))
		assert.Empty(t, list("?event=custom"))
		assert.Empty(t, e.scan(), "no config, subscription or stats item is left")
	})
}

func TestBackendBadInputChangesNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *backendEnv) {
		for _, tt := range createBadInputs() {
			t.Run("create "+tt.name, func(t *testing.T) {
				e := e.with(t)
				rec := e.do("POST", "/webhooks", tt.body, tt.headers...)
				assertError(t, rec, tt.status, tt.code, tt.field)
				assert.Empty(t, e.scan())
			})
		}
		base := e.create(`{"name":"n","url":"https://example.com/","events":["custom"]}`)
		snap := e.scan()
		for _, tt := range patchBadInputs() {
			t.Run("patch "+tt.name, func(t *testing.T) {
				e := e.with(t)
				rec := e.do("PATCH", "/webhooks/"+base.ID, tt.body, tt.headers...)
				assertError(t, rec, tt.status, tt.code, tt.field)
				assert.Equal(t, snap, e.scan())
			})
		}
	})
}

func TestBackendCredentialsAreSealed(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *backendEnv) {
		bearer := e.create(`{"name":"b","url":"https://example.com/","events":["custom"],"auth_type":"bearer","auth_credentials":{"token":"plain-bearer-token"}}`)
		hmac := e.create(`{"name":"h","url":"https://example.com/","events":["custom"],"auth_type":"hmac"}`)
		secret := hmac.AuthCredentials["secret"]
		require.True(t, strings.HasPrefix(secret, "whsec_"), secret)

		raw := e.scan()
		assert.NotContains(t, raw, "plain-bearer-token")
		assert.NotContains(t, raw, strings.TrimPrefix(secret, "whsec_"))

		ctx := context.Background()
		st := store.New(e.client, e.tables)
		for id, want := range map[string]map[string]string{
			bearer.ID: {"token": "plain-bearer-token"},
			hmac.ID:   {"secret": secret},
		} {
			w, err := st.GetWebhook(ctx, id)
			require.NoError(t, err)
			got, err := e.sealer.Open(ctx, id, w.SealedCredentials)
			require.NoError(t, err)
			assert.Equal(t, want, got)
		}

		rec := e.do("GET", "/webhooks/"+hmac.ID, "")
		assert.Equal(t, map[string]string{"secret": "****" + secret[len(secret)-4:]}, decode[webhookOut](t, rec).AuthCredentials)

		// A rename keeps the sealed credentials; a new token replaces them.
		require.Equal(t, 200, e.do("PATCH", "/webhooks/"+bearer.ID, `{"name":"b2"}`).Code)
		require.Equal(t, 200, e.do("PATCH", "/webhooks/"+bearer.ID, `{"auth_credentials":{"token":"second-token-xyz"}}`).Code)
		w, err := st.GetWebhook(ctx, bearer.ID)
		require.NoError(t, err)
		got, err := e.sealer.Open(ctx, bearer.ID, w.SealedCredentials)
		require.NoError(t, err)
		assert.Equal(t, map[string]string{"token": "second-token-xyz"}, got)
		assert.NotContains(t, e.logs.String(), "second-token-xyz")
	})
}

func TestBackendListPaging(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *backendEnv) {
		var want []string
		for i := range 5 {
			ev := "custom"
			if i%2 == 0 {
				ev = "task.failed"
			}
			want = append(want, e.create(fmt.Sprintf(`{"name":"w%d","url":"https://example.com/","events":["%s"]}`, i, ev)).ID)
		}
		type page struct {
			Items      []webhookOut `json:"items"`
			NextCursor *string      `json:"next_cursor"`
		}
		var got []string
		cursor := ""
		for pages := 0; ; pages++ {
			require.Less(t, pages, 5, "paging ends")
			path := "/webhooks?limit=2"
			if cursor != "" { // an empty cursor= is refused
				path += "&cursor=" + cursor
			}
			rec := e.do("GET", path, "")
			require.Equal(t, 200, rec.Code, "%s\nlogs: %s", rec.Body.String(), e.logs.String())
			p := decode[page](t, rec)
			for _, w := range p.Items {
				got = append(got, w.ID)
			}
			if p.NextCursor == nil {
				break
			}
			require.NotEmpty(t, *p.NextCursor, "next_cursor is absent, never empty")
			cursor = *p.NextCursor
		}
		assert.Equal(t, want, got, "every webhook once, in creation order")

		rec := e.do("GET", "/webhooks?limit=1&event=task.failed", "")
		p := decode[page](t, rec)
		require.NotNil(t, p.NextCursor)
		// A cursor belongs to its filter.
		assertError(t, e.do("GET", "/webhooks?limit=1&event=custom&cursor="+*p.NextCursor, ""), 400, webhook.EInvalid, "cursor")
		assertError(t, e.do("GET", "/webhooks?cursor=garbage", ""), 400, webhook.EInvalid, "cursor")
	})
}
