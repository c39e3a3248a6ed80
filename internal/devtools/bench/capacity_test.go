package bench

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/devtools/testenv"
	"github.com/systemprompt-io/webhooks/internal/store"
)

func TestItemSize(t *testing.T) {
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	n := func(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }
	for _, c := range []struct {
		name string
		item Item
		want int
	}{
		{"empty", Item{}, 0},
		{"string", Item{"pk": s("abc")}, 2 + 3},
		{"utf-8 bytes", Item{"é": s("€")}, 2 + 3},
		{"number: a byte per two digits + 1", Item{"n": n("123")}, 1 + 3},
		{"number: zeros trimmed", Item{"n": n("1000")}, 1 + 2},
		{"number: fraction", Item{"n": n("0.05")}, 1 + 2},
		{"number: negative +1", Item{"n": n("-1.5")}, 1 + 3},
		{"number: zero", Item{"n": n("0")}, 1 + 1},
		{"bool and null", Item{"b": &types.AttributeValueMemberBOOL{Value: true}, "z": &types.AttributeValueMemberNULL{Value: true}}, 2 + 2},
		{"binary", Item{"b": &types.AttributeValueMemberB{Value: []byte{1, 2, 3}}}, 1 + 3},
		{"list: 3 + 1 per element", Item{"l": &types.AttributeValueMemberL{Value: []types.AttributeValue{s("a"), n("1")}}}, 1 + 3 + (1 + 1) + (1 + 2)},
		{"map: names count", Item{"m": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"k": s("v")}}}, 1 + 3 + 1 + 1 + 1},
		{"empty map", Item{"m": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}}}, 1 + 3},
		{"string set", Item{"ss": &types.AttributeValueMemberSS{Value: []string{"ab", "c"}}}, 2 + 3},
		{"number set", Item{"ns": &types.AttributeValueMemberNS{Value: []string{"1", "22"}}}, 2 + 2 + 2},
	} {
		t.Run(c.name, func(t *testing.T) { assert.Equal(t, c.want, ItemSize(c.item)) })
	}
}

// TestCapacity checks the computed units against DynamoDB's rules on a
// table shaped like the deliveries table (key webhook_id + id) with a
// KEYS_ONLY GSI by_day on created_day + id (the deliveries table itself has
// no index any more; this one exercises the meter's index accounting), and
// that the reported ones are collected where the backend reports any.
func TestCapacity(t *testing.T) {
	for _, b := range testenv.DynamoBackends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			sfx, err := randHex()
			require.NoError(t, err)
			tables := store.Tables{Deliveries: "cap-dl-" + sfx}
			require.NoError(t, createIndexedTable(ctx, b.Clients.DynamoDB, tables.Deliveries))
			t.Cleanup(func() {
				_, _ = b.Clients.DynamoDB.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(tables.Deliveries)})
			})
			clients, m := Instrument(b.Clients)
			db, tbl := clients.DynamoDB, aws.String(tables.Deliveries)
			s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
			// item: 10+4 (webhook_id) + 2+id + 4+blob bytes, plus created_day
			// (11+10) when day is set.
			item := func(id string, blob int, day bool) Item {
				it := Item{"webhook_id": s("wh_1"), "id": s(id), "blob": s(strings.Repeat("x", blob))}
				if day {
					it["created_day"] = s("2026-01-01")
				}
				return it
			}
			key := func(id string) Item { return Item{"webhook_id": s("wh_1"), "id": s(id)} }
			step := func(name string, want Units, f func() error) {
				t.Helper()
				require.NoError(t, m.Capacity.Prepare(ctx, tables.Deliveries))
				m.Capacity.Reset()
				require.NoError(t, f(), name)
				r, err := m.Capacity.Report(ctx)
				require.NoError(t, err, name)
				assert.Equal(t, want, r.ComputedTotal(), name)
			}
			put := func(it Item) func() error {
				return func() error {
					_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: tbl, Item: it})
					return err
				}
			}

			// A new 500-byte item with created_day: 1 unit + 1 index entry.
			step("put new, indexed", Units{Write: 2}, put(item("a", 470, true)))
			// 1,500 bytes, not indexed: 2 units.
			step("put new, 1.5 KB", Units{Write: 2}, put(item("b", 1475, false)))
			// Overwritten by a small item: billed by the larger (old) one.
			step("put over a larger item", Units{Write: 2}, put(item("b", 10, false)))
			// An update that gives it created_day puts an index entry.
			step("update into the index", Units{Write: 2}, func() error {
				_, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: tbl, Key: key("b"),
					UpdateExpression:          aws.String("SET created_day = :d"),
					ExpressionAttributeValues: map[string]types.AttributeValue{":d": s("2026-01-02")}})
				return err
			})
			// Changing the index key: the old entry deleted, a new one put.
			step("update the index key", Units{Write: 3}, func() error {
				_, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: tbl, Key: key("b"),
					UpdateExpression:          aws.String("SET created_day = :d"),
					ExpressionAttributeValues: map[string]types.AttributeValue{":d": s("2026-01-03")}})
				return err
			})
			step("delete", Units{Write: 2}, func() error {
				_, err := db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: tbl, Key: key("b")})
				return err
			})
			// 5,000 bytes: 2 units strongly consistent, 1 eventually.
			require.NoError(t, put(item("c", 4975, false))())
			step("get, consistent", Units{Read: 2}, func() error {
				_, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: tbl, Key: key("c"), ConsistentRead: aws.Bool(true)})
				return err
			})
			step("get, eventually consistent, projected", Units{Read: 1}, func() error {
				_, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: tbl, Key: key("c"), ProjectionExpression: aws.String("id")})
				return err
			})
			// A query page is billed by what it read: items a, c (and the
			// filter and projection change nothing): 500 + 5,000 bytes.
			step("query with filter and projection", Units{Read: 2}, func() error {
				_, err := db.Query(ctx, &dynamodb.QueryInput{TableName: tbl, ConsistentRead: aws.Bool(true),
					KeyConditionExpression: aws.String("webhook_id = :w"), FilterExpression: aws.String("id = :a"),
					ProjectionExpression:      aws.String("id"),
					ExpressionAttributeValues: map[string]types.AttributeValue{":w": s("wh_1"), ":a": s("a")}})
				return err
			})
			// A transaction doubles every item's write: d put (1), a and its
			// index entry deleted (1 + 1).
			step("transaction", Units{Write: 2 * (1 + 1 + 1)}, func() error {
				_, err := db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
					{Put: &types.Put{TableName: tbl, Item: item("d", 10, false)}},
					{Delete: &types.Delete{TableName: tbl, Key: key("a")}},
				}})
				return err
			})
			// e put (1), c deleted: billed by its 5,000 bytes (5).
			step("batch write", Units{Write: 1 + 5}, func() error {
				_, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{
					tables.Deliveries: {
						{PutRequest: &types.PutRequest{Item: item("e", 10, false)}},
						{DeleteRequest: &types.DeleteRequest{Key: key("c")}},
					},
				}})
				return err
			})

			// The index's share is reported apart.
			m.Capacity.Reset()
			require.NoError(t, put(item("f", 10, true))())
			r, err := m.Capacity.Report(ctx)
			require.NoError(t, err)
			assert.Equal(t, map[string]float64{tables.Deliveries: 1, tables.Deliveries + "/by_day": 1}, r.Writes)
			if b.Name != "kumo" {
				// The reference stand-in reports something for a PutItem
				// (moto: a constant); kumo reports nothing.
				assert.Positive(t, r.Reported["PutItem"].Write, "reported capacity collected")
			}
		})
	}
}

// createIndexedTable creates a table keyed webhook_id + id with the KEYS_ONLY
// GSI by_day (created_day + id) and waits until it is active.
func createIndexedTable(ctx context.Context, client *dynamodb.Client, name string) error {
	attr := func(n string) types.AttributeDefinition {
		return types.AttributeDefinition{AttributeName: aws.String(n), AttributeType: types.ScalarAttributeTypeS}
	}
	keys := func(hash, rng string) []types.KeySchemaElement {
		return []types.KeySchemaElement{
			{AttributeName: aws.String(hash), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(rng), KeyType: types.KeyTypeRange},
		}
	}
	_, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{attr("webhook_id"), attr("id"), attr("created_day")},
		KeySchema:            keys("webhook_id", "id"),
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName:  aws.String("by_day"),
			KeySchema:  keys("created_day", "id"),
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly},
		}},
	})
	if err != nil {
		return err
	}
	return dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, time.Second
	}).Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, time.Minute)
}
