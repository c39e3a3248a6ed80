package store

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

const (
	evA = "agent.started"
	evB = "agent.failed"
	evC = "workflow.completed"
)

func TestCreateGetRoundTrip(t *testing.T) {
	ctx := context.Background()
	forEachBackend(t, func(t *testing.T, s *Store, client *dynamodb.Client) {
		tests := []struct {
			name string
			w    *webhook.Webhook
		}{
			{"every field", newWebhook(evA, evB)},
			{"minimal", &webhook.Webhook{
				ID: webhook.NewID(webhook.WebhookIDPrefix), Name: "n", URL: "http://127.0.0.1:9/x", Method: "POST",
				Events: []string{webhook.EventCustom}, Status: webhook.StatusInactive, AuthType: webhook.AuthNone,
				Retry: webhook.DefaultRetryPolicy(), TimeoutMS: webhook.DefaultTimeoutMS, CreatedAt: fixedTime, UpdatedAt: fixedTime,
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				in := *tt.w
				require.NoError(t, s.CreateWebhook(ctx, tt.w))
				assert.Equal(t, int64(1), tt.w.Version)

				got, err := s.GetWebhook(ctx, tt.w.ID)
				require.NoError(t, err)
				want := in
				want.Version = 1
				want.Credentials = nil // never stored
				if len(want.Headers) == 0 {
					want.Headers = got.Headers // nil and empty are the same thing
				}
				assert.Equal(t, &want, got)

				// The raw item carries no plaintext credential anywhere.
				raw, err := client.GetItem(ctx, &dynamodb.GetItemInput{
					TableName: aws.String(s.Tables().Webhooks),
					Key: map[string]types.AttributeValue{
						AttrPK: &types.AttributeValueMemberS{Value: webhookPK(tt.w.ID)},
						AttrSK: &types.AttributeValueMemberS{Value: skConfig},
					},
				})
				require.NoError(t, err)
				require.NotEmpty(t, raw.Item)
				dump := fmt.Sprintf("%#v", raw.Item)
				for _, v := range in.Credentials {
					assert.NotContains(t, dump, v)
				}
				assert.NotContains(t, raw.Item, "credentials")
				assert.Equal(t, &types.AttributeValueMemberS{Value: kindWebhook}, raw.Item[AttrKind])
				assert.Equal(t, &types.AttributeValueMemberS{Value: string(in.Status)}, raw.Item[AttrWHStatus])
				assert.NotContains(t, raw.Item, "status", "config items stay out of the subscription filter")
				if len(in.SealedCredentials) > 0 {
					assert.IsType(t, &types.AttributeValueMemberB{}, raw.Item["sealed_credentials"])
					assert.IsType(t, &types.AttributeValueMemberM{}, raw.Item["masked_credentials"])
				}
			})
		}
	})
}

func TestCreateErrors(t *testing.T) {
	ctx := context.Background()
	forEachBackend(t, func(t *testing.T, s *Store, _ *dynamodb.Client) {
		w := newWebhook(evA)
		require.NoError(t, s.CreateWebhook(ctx, w))

		again := newWebhook(evB)
		again.ID = w.ID
		err := s.CreateWebhook(ctx, again)
		assert.Equal(t, webhook.EConflict, webhook.ErrorCode(err), "%v", err)
		got, err := s.GetWebhook(ctx, w.ID)
		require.NoError(t, err)
		assert.Equal(t, []string{evA}, got.Events, "the first webhook is untouched")
		subs, err := s.ActiveSubscribers(ctx, evB)
		require.NoError(t, err)
		assert.Empty(t, subs, "the losing create wrote no subscription")

		bad := newWebhook(evA)
		bad.ID = "wh_nothex"
		assert.Equal(t, webhook.EInvalid, webhook.ErrorCode(s.CreateWebhook(ctx, bad)))

		dup := newWebhook(evA, evA, evB)
		require.NoError(t, s.CreateWebhook(ctx, dup), "repeated events are stored once")
		got, err = s.GetWebhook(ctx, dup.ID)
		require.NoError(t, err)
		assert.Equal(t, []string{evA, evB}, got.Events)
	})
}

func TestGetMissing(t *testing.T) {
	ctx := context.Background()
	forEachBackend(t, func(t *testing.T, s *Store, _ *dynamodb.Client) {
		for _, id := range []string{webhook.NewID(webhook.WebhookIDPrefix), "", "wh_x", "wh#config"} {
			_, err := s.GetWebhook(ctx, id)
			assert.Equal(t, webhook.ENotFound, webhook.ErrorCode(err), "id %q: %v", id, err)
		}
	})
}

// listAll pages through a listing and returns every id and the page count.
func listAll(t *testing.T, s *Store, f webhook.ListFilter) ([]string, int) {
	t.Helper()
	var all []string
	pages := 0
	for {
		p, err := s.ListWebhooks(context.Background(), f)
		require.NoError(t, err)
		pages++
		require.LessOrEqual(t, pages, 100, "runaway paging")
		assert.NotNil(t, p.Items)
		if p.NextCursor != "" {
			assert.Len(t, p.Items, f.Limit, "every page but the last is full")
		}
		all = append(all, ids(p.Items)...)
		for _, w := range p.Items {
			if f.Status != "" {
				assert.Equal(t, f.Status, w.Status)
			}
			if f.Event != "" {
				assert.True(t, w.Subscribes(f.Event))
			}
		}
		if p.NextCursor == "" {
			return all, pages
		}
		f.Cursor = p.NextCursor
	}
}

func TestListPagination(t *testing.T) {
	ctx := context.Background()
	forEachBackend(t, func(t *testing.T, s *Store, _ *dynamodb.Client) {
		// 23 webhooks: every third inactive; even ones also get evB.
		var created []*webhook.Webhook
		for i := range 23 {
			events := []string{evA}
			if i%2 == 0 {
				events = append(events, evB)
			}
			w := newWebhook(events...)
			if i%3 == 0 {
				w.Status = webhook.StatusInactive
			}
			require.NoError(t, s.CreateWebhook(ctx, w))
			created = append(created, w)
		}
		// Another event's subscriptions must not show up in event listings.
		other := newWebhook(evC)
		require.NoError(t, s.CreateWebhook(ctx, other))
		created = append(created, other)

		expect := func(status webhook.Status, event string) []string {
			var out []string
			for _, w := range created {
				if (status == "" || w.Status == status) && (event == "" || w.Subscribes(event)) {
					out = append(out, w.ID)
				}
			}
			return sorted(out)
		}
		tests := []struct {
			name   string
			filter webhook.ListFilter
		}{
			{"all", webhook.ListFilter{Limit: 5}},
			{"all exact pages", webhook.ListFilter{Limit: 6}},
			{"all one page", webhook.ListFilter{Limit: 100}},
			{"active", webhook.ListFilter{Status: webhook.StatusActive, Limit: 5}},
			{"inactive exact pages", webhook.ListFilter{Status: webhook.StatusInactive, Limit: 4}},
			{"by event", webhook.ListFilter{Event: evA, Limit: 5}},
			{"by event limit 1", webhook.ListFilter{Event: evB, Limit: 1}},
			{"by event and status, exact pages", webhook.ListFilter{Event: evB, Status: webhook.StatusActive, Limit: 4}},
			{"by event, inactive", webhook.ListFilter{Event: evA, Status: webhook.StatusInactive, Limit: 3}},
			{"no match", webhook.ListFilter{Event: "task.failed", Limit: 5}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				want := expect(tt.filter.Status, tt.filter.Event)
				got, pages := listAll(t, s, tt.filter)
				assert.Equal(t, want, got, "creation order, no duplicate, no gap")
				wantPages := max(1, (len(want)+tt.filter.Limit-1)/tt.filter.Limit)
				assert.Equal(t, wantPages, pages, "no empty trailing page")
			})
		}

		p, err := s.ListWebhooks(ctx, webhook.ListFilter{})
		require.NoError(t, err)
		assert.Len(t, p.Items, 24, "default limit covers all")
		assert.Empty(t, p.NextCursor)
	})
}

func TestListResumesAfterDeletedItem(t *testing.T) {
	ctx := context.Background()
	forEachBackend(t, func(t *testing.T, s *Store, _ *dynamodb.Client) {
		var want []string
		for range 6 {
			w := newWebhook(evA)
			require.NoError(t, s.CreateWebhook(ctx, w))
			want = append(want, w.ID)
		}
		for _, f := range []webhook.ListFilter{{Limit: 3}, {Event: evA, Limit: 3}, {Status: webhook.StatusActive, Limit: 3}} {
			p1, err := s.ListWebhooks(ctx, f)
			require.NoError(t, err)
			require.NotEmpty(t, p1.NextCursor)
			last := p1.Items[len(p1.Items)-1].ID
			require.NoError(t, s.DeleteWebhook(ctx, last))

			f.Cursor = p1.NextCursor
			p2, err := s.ListWebhooks(ctx, f)
			require.NoError(t, err)
			assert.Equal(t, want[3:], ids(p2.Items), "page 2 starts right after the deleted item (%+v)", f)
			assert.Empty(t, p2.NextCursor)

			// Put it back (under a new id, at the end) for the next filter.
			w := newWebhook(evA)
			require.NoError(t, s.CreateWebhook(ctx, w))
			want = append(append(want[:2:2], want[3:]...), w.ID)
		}
	})
}

func TestListInvalid(t *testing.T) {
	ctx := context.Background()
	forEachBackend(t, func(t *testing.T, s *Store, _ *dynamodb.Client) {
		for range 3 {
			require.NoError(t, s.CreateWebhook(ctx, newWebhook(evA)))
		}
		page := func(f webhook.ListFilter) string {
			p, err := s.ListWebhooks(ctx, f)
			require.NoError(t, err)
			require.NotEmpty(t, p.NextCursor)
			return p.NextCursor
		}
		allCursor := page(webhook.ListFilter{Limit: 1})
		activeCursor := page(webhook.ListFilter{Status: webhook.StatusActive, Limit: 1})
		eventCursor := page(webhook.ListFilter{Event: evA, Limit: 1})
		enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

		tests := []struct {
			name  string
			f     webhook.ListFilter
			field string
		}{
			{"negative limit", webhook.ListFilter{Limit: -1}, "limit"},
			{"limit over max", webhook.ListFilter{Limit: webhook.MaxListLimit + 1}, "limit"},
			{"unknown status", webhook.ListFilter{Status: "paused"}, "status"},
			{"unknown event", webhook.ListFilter{Event: "agent.exploded"}, "event"},
			{"not base64", webhook.ListFilter{Cursor: "%%%"}, "cursor"},
			{"not json", webhook.ListFilter{Cursor: enc("hello")}, "cursor"},
			{"bad id", webhook.ListFilter{Cursor: enc(`{"a":"wh_zz","f":"x"}`)}, "cursor"},
			{"std base64 padding", webhook.ListFilter{Cursor: allCursor + "=="}, "cursor"},
			{"all cursor with status", webhook.ListFilter{Status: webhook.StatusActive, Cursor: allCursor}, "cursor"},
			{"status cursor with other status", webhook.ListFilter{Status: webhook.StatusInactive, Cursor: activeCursor}, "cursor"},
			{"status cursor without filter", webhook.ListFilter{Cursor: activeCursor}, "cursor"},
			{"event cursor with other event", webhook.ListFilter{Event: evB, Cursor: eventCursor}, "cursor"},
			{"event cursor with status added", webhook.ListFilter{Event: evA, Status: webhook.StatusActive, Cursor: eventCursor}, "cursor"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := s.ListWebhooks(ctx, tt.f)
				require.Error(t, err)
				assert.Equal(t, webhook.EInvalid, webhook.ErrorCode(err), "%v", err)
				assert.Equal(t, tt.field, webhook.ErrorField(err))
			})
		}

		// Changing the page size between pages is fine.
		p, err := s.ListWebhooks(ctx, webhook.ListFilter{Limit: 10, Cursor: allCursor})
		require.NoError(t, err)
		assert.Len(t, p.Items, 2)
	})
}

func TestUpdateEvents(t *testing.T) {
	ctx := context.Background()
	forEachBackend(t, func(t *testing.T, s *Store, _ *dynamodb.Client) {
		w := newWebhook(evA, evB)
		require.NoError(t, s.CreateWebhook(ctx, w))

		subscribers := func(event string) []string {
			ids, err := s.ActiveSubscribers(ctx, event)
			require.NoError(t, err)
			return ids
		}
		assert.Equal(t, []string{w.ID}, subscribers(evA))
		assert.Equal(t, []string{w.ID}, subscribers(evB))
		assert.Empty(t, subscribers(evC))

		steps := []struct {
			name   string
			events []string
			status webhook.Status
		}{
			{"swap A for C", []string{evB, evC}, webhook.StatusActive},
			{"pause", []string{evB, evC}, webhook.StatusInactive},
			{"resume", []string{evB, evC}, webhook.StatusActive},
			{"pause and change events", []string{evA}, webhook.StatusInactive},
			{"resume with all", []string{evA, evB, evC}, webhook.StatusActive},
		}
		version := int64(1)
		for _, st := range steps {
			t.Run(st.name, func(t *testing.T) {
				cur, err := s.GetWebhook(ctx, w.ID)
				require.NoError(t, err)
				require.Equal(t, version, cur.Version)
				cur.Events = st.events
				cur.Status = st.status
				cur.Name = "renamed " + st.name
				cur.UpdatedAt = cur.UpdatedAt.Add(time.Hour)
				require.NoError(t, s.UpdateWebhook(ctx, cur))
				version++
				assert.Equal(t, version, cur.Version)

				got, err := s.GetWebhook(ctx, w.ID)
				require.NoError(t, err)
				assert.Equal(t, cur, got)
				for _, e := range []string{evA, evB, evC} {
					want := []string{}
					if st.status == webhook.StatusActive && cur.Subscribes(e) {
						want = []string{w.ID}
					}
					assert.Equal(t, want, subscribers(e), "event %s", e)

					p, err := s.ListWebhooks(ctx, webhook.ListFilter{Event: e})
					require.NoError(t, err)
					if cur.Subscribes(e) {
						assert.Equal(t, []string{w.ID}, ids(p.Items), "event %s", e)
					} else {
						assert.Empty(t, p.Items, "event %s", e)
					}
				}
				p, err := s.ListWebhooks(ctx, webhook.ListFilter{Status: st.status})
				require.NoError(t, err)
				assert.Equal(t, []string{w.ID}, ids(p.Items))
			})
		}
	})
}

func TestUpdateConflicts(t *testing.T) {
	ctx := context.Background()
	forEachBackend(t, func(t *testing.T, s *Store, _ *dynamodb.Client) {
		t.Run("concurrent updates of one version", func(t *testing.T) {
			w := newWebhook(evA)
			require.NoError(t, s.CreateWebhook(ctx, w))
			const n = 6
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					mine := *w
					mine.Name = fmt.Sprintf("writer %d", i)
					mine.Events = []string{evA, []string{evB, evC}[i%2]}
					errs[i] = s.UpdateWebhook(ctx, &mine)
				}()
			}
			wg.Wait()
			won := -1
			for i, err := range errs {
				if err == nil {
					assert.Equal(t, -1, won, "only one writer may win")
					won = i
					continue
				}
				assert.Equal(t, webhook.EConflict, webhook.ErrorCode(err), "%v", err)
			}
			require.NotEqual(t, -1, won, "one writer wins")

			got, err := s.GetWebhook(ctx, w.ID)
			require.NoError(t, err)
			assert.Equal(t, fmt.Sprintf("writer %d", won), got.Name)
			assert.Equal(t, int64(2), got.Version)
			// The index matches the winner's events, not a loser's.
			winnerEvent, loserEvent := []string{evB, evC}[won%2], []string{evB, evC}[(won+1)%2]
			subs, err := s.ActiveSubscribers(ctx, winnerEvent)
			require.NoError(t, err)
			assert.Equal(t, []string{w.ID}, subs)
			subs, err = s.ActiveSubscribers(ctx, loserEvent)
			require.NoError(t, err)
			assert.Empty(t, subs)
		})

		t.Run("stale version", func(t *testing.T) {
			w := newWebhook(evA)
			require.NoError(t, s.CreateWebhook(ctx, w))
			old := *w
			require.NoError(t, s.UpdateWebhook(ctx, w))
			old.Name = "late"
			err := s.UpdateWebhook(ctx, &old)
			assert.Equal(t, webhook.EConflict, webhook.ErrorCode(err), "%v", err)
			assert.Equal(t, int64(1), old.Version, "a failed update leaves the version")
		})

		t.Run("update after delete", func(t *testing.T) {
			w := newWebhook(evA)
			require.NoError(t, s.CreateWebhook(ctx, w))
			require.NoError(t, s.DeleteWebhook(ctx, w.ID))
			err := s.UpdateWebhook(ctx, w)
			assert.Equal(t, webhook.ENotFound, webhook.ErrorCode(err), "%v", err)
			_, err = s.GetWebhook(ctx, w.ID)
			assert.Equal(t, webhook.ENotFound, webhook.ErrorCode(err), "update did not recreate it")
			subs, err := s.ActiveSubscribers(ctx, evA)
			require.NoError(t, err)
			assert.NotContains(t, subs, w.ID)
		})

		t.Run("update of a never created id", func(t *testing.T) {
			err := s.UpdateWebhook(ctx, newWebhook(evA))
			assert.Equal(t, webhook.ENotFound, webhook.ErrorCode(err), "%v", err)
		})
	})
}

func TestDelete(t *testing.T) {
	ctx := context.Background()
	forEachBackend(t, func(t *testing.T, s *Store, client *dynamodb.Client) {
		w := newWebhook(evA, evB, evC)
		keep := newWebhook(evA)
		require.NoError(t, s.CreateWebhook(ctx, w))
		require.NoError(t, s.CreateWebhook(ctx, keep))
		require.NoError(t, s.webhooks.Put(statsItem{PK: webhookPK(w.ID), SK: skStats, TotalDeliveries: 3}).Run(ctx))

		require.NoError(t, s.DeleteWebhook(ctx, w.ID))

		// Nothing of w is left in the table: no config, stats or subscription.
		out, err := client.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(s.Tables().Webhooks)})
		require.NoError(t, err)
		for _, item := range out.Items {
			dump := fmt.Sprintf("%v", item)
			assert.False(t, strings.Contains(dump, w.ID), "left over: %s", dump)
		}
		assert.Len(t, out.Items, 2, "keep's config and subscription remain")

		subs, err := s.ActiveSubscribers(ctx, evA)
		require.NoError(t, err)
		assert.Equal(t, []string{keep.ID}, subs)
		st, err := s.GetStats(ctx, w.ID)
		require.NoError(t, err)
		assert.Zero(t, st.TotalDeliveries)

		assert.Equal(t, webhook.ENotFound, webhook.ErrorCode(s.DeleteWebhook(ctx, w.ID)), "second delete")
		assert.Equal(t, webhook.ENotFound, webhook.ErrorCode(s.DeleteWebhook(ctx, "nonsense")))
	})
}

func TestActiveSubscribersOnlyQueries(t *testing.T) {
	ctx := context.Background()
	forEachBackend(t, func(t *testing.T, s *Store, client *dynamodb.Client) {
		var want []string
		for i := range 12 {
			w := newWebhook(evA)
			if i%4 == 0 {
				w.Status = webhook.StatusInactive
			} else {
				want = append(want, w.ID)
			}
			require.NoError(t, s.CreateWebhook(ctx, w))
		}
		rc, rec := recordingClient(client)
		rs := New(rc, s.Tables())
		rec.reset()
		got, err := rs.ActiveSubscribers(ctx, evA)
		require.NoError(t, err)
		assert.Equal(t, sorted(want), got)
		ops := rec.operations()
		require.NotEmpty(t, ops)
		for _, op := range ops {
			assert.Equal(t, "Query", op)
		}

		_, err = rs.ActiveSubscribers(ctx, "no.such.event")
		assert.Equal(t, webhook.EInvalid, webhook.ErrorCode(err))

		// Listings only query (and batch-get configs), never scan.
		rec.reset()
		for _, f := range []webhook.ListFilter{{Limit: 2}, {Status: webhook.StatusActive, Limit: 2}, {Event: evA, Limit: 2}} {
			_, err := rs.ListWebhooks(ctx, f)
			require.NoError(t, err)
		}
		for _, op := range rec.operations() {
			assert.Contains(t, []string{"Query", "BatchGetItem"}, op)
		}
	})
}

func TestGetStats(t *testing.T) {
	ctx := context.Background()
	forEachBackend(t, func(t *testing.T, s *Store, _ *dynamodb.Client) {
		w := newWebhook(evA)
		require.NoError(t, s.CreateWebhook(ctx, w))

		st, err := s.GetStats(ctx, w.ID)
		require.NoError(t, err)
		assert.Equal(t, webhook.Stats{}, st, "nothing recorded yet")

		last := fixedTime.Add(time.Hour)
		require.NoError(t, s.webhooks.Put(statsItem{
			PK: webhookPK(w.ID), SK: skStats,
			TotalDeliveries: 5, Successful: 4, Failed: 1, Attempts: 7, TotalResponseMS: 700,
			LastDeliveryAt: &last, LastSuccessAt: &fixedTime,
		}).Run(ctx))
		st, err = s.GetStats(ctx, w.ID)
		require.NoError(t, err)
		assert.Equal(t, webhook.Stats{
			TotalDeliveries: 5, Successful: 4, Failed: 1, Attempts: 7, TotalResponseMS: 700,
			LastDeliveryAt: &last, LastSuccessAt: &fixedTime,
		}, st)

		_, err = s.GetStats(ctx, "bogus")
		assert.Equal(t, webhook.ENotFound, webhook.ErrorCode(err))
	})
}
