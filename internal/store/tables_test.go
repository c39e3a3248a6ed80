package store

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/devtools/testenv"
)

func TestDefinitions(t *testing.T) {
	defs := Definitions(Tables{Webhooks: "w", Deliveries: "d"})
	require.Len(t, defs, 2)

	type want struct {
		table, hash, rng string
		gsis             map[string][3]string // name → hash, range, projection
	}
	tests := []want{
		{"w", AttrPK, AttrSK, map[string][3]string{
			IndexByKind:   {AttrKind, AttrID, "ALL"},
			IndexByStatus: {AttrWHStatus, AttrID, "ALL"},
		}},
		{"d", AttrWebhookID, AttrID, nil}, // no index: a delivery is one paid write
	}
	for i, tt := range tests {
		t.Run(tt.table, func(t *testing.T) {
			def := defs[i]
			assert.Equal(t, tt.table, aws.ToString(def.TableName))
			assert.Equal(t, types.BillingModePayPerRequest, def.BillingMode)
			assert.Equal(t, keyStr(tt.hash, tt.rng), keyString(def.KeySchema))
			require.Len(t, def.GlobalSecondaryIndexes, len(tt.gsis))
			defined := map[string]bool{}
			for _, a := range def.AttributeDefinitions {
				assert.Equal(t, types.ScalarAttributeTypeS, a.AttributeType)
				defined[aws.ToString(a.AttributeName)] = true
			}
			assert.True(t, defined[tt.hash] && defined[tt.rng], "table keys defined")
			for _, g := range def.GlobalSecondaryIndexes {
				w, ok := tt.gsis[aws.ToString(g.IndexName)]
				require.True(t, ok, "unexpected index %s", aws.ToString(g.IndexName))
				assert.Equal(t, keyStr(w[0], w[1]), keyString(g.KeySchema))
				assert.Equal(t, w[2], string(g.Projection.ProjectionType))
				assert.True(t, defined[w[0]] && defined[w[1]], "index keys defined")
			}
			// DynamoDB rejects attribute definitions that no key uses.
			assert.Len(t, def.AttributeDefinitions, len(keysUsed(def)))
		})
	}
}

func keyStr(hash, rng string) string { return hash + ":HASH " + rng + ":RANGE " }

func keysUsed(def *dynamodb.CreateTableInput) map[string]bool {
	used := map[string]bool{}
	for _, k := range def.KeySchema {
		used[aws.ToString(k.AttributeName)] = true
	}
	for _, g := range def.GlobalSecondaryIndexes {
		for _, k := range g.KeySchema {
			used[aws.ToString(k.AttributeName)] = true
		}
	}
	return used
}

func TestCreateTables(t *testing.T) {
	ctx := context.Background()
	for _, b := range testenv.DynamoBackends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			client := b.Clients.DynamoDB
			tables := uniqueTables(t)
			t.Cleanup(func() {
				for _, name := range []string{tables.Webhooks, tables.Deliveries} {
					_, _ = client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: &name})
				}
			})
			require.NoError(t, CreateTables(ctx, client, tables))
			require.NoError(t, CreateTables(ctx, client, tables), "second call accepts existing tables")

			for _, name := range []string{tables.Webhooks, tables.Deliveries} {
				d, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &name})
				require.NoError(t, err)
				assert.Equal(t, types.TableStatusActive, d.Table.TableStatus)
				ttl, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: &name})
				require.NoError(t, err)
				assert.Equal(t, types.TimeToLiveStatusEnabled, ttl.TimeToLiveDescription.TimeToLiveStatus, name)
				assert.Equal(t, TTLAttribute, aws.ToString(ttl.TimeToLiveDescription.AttributeName), name)
			}

			// A table of that name with another layout is refused, not used.
			other := uniqueTables(t)
			_, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
				TableName:            &other.Webhooks,
				BillingMode:          types.BillingModePayPerRequest,
				AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
				KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
			})
			require.NoError(t, err)
			t.Cleanup(func() {
				for _, name := range []string{other.Webhooks, other.Deliveries} {
					_, _ = client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: &name})
				}
			})
			err = CreateTables(ctx, client, other)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "another layout")

			assert.Error(t, CreateTables(ctx, client, Tables{Webhooks: "x"}), "names are required")
		})
	}
}
