package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Tables names the service's two tables (config.Config's TABLE_WEBHOOKS and
// TABLE_DELIVERIES).
type Tables struct {
	Webhooks   string
	Deliveries string
}

// Key attributes, index names and the TTL attribute of both tables
// (docs/internals.md, "DynamoDB"). template.yaml must declare the same; a test
// compares it with Definitions.
const (
	AttrPK       = "pk"
	AttrSK       = "sk"
	AttrKind     = "kind"
	AttrID       = "id"
	AttrWHStatus = "wh_status"

	AttrWebhookID = "webhook_id"

	IndexByKind   = "by_kind"
	IndexByStatus = "by_status"

	TTLAttribute = "expires_at"
)

// Definitions returns the CreateTable inputs of both tables: keys, GSIs and
// on-demand billing. It is the single source of truth for local stacks and
// for the template-agreement test. TTL is not part of CreateTable; CreateTables
// enables it on TTLAttribute.
func Definitions(t Tables) []*dynamodb.CreateTableInput {
	s := types.ScalarAttributeTypeS
	attr := func(name string) types.AttributeDefinition {
		return types.AttributeDefinition{AttributeName: aws.String(name), AttributeType: s}
	}
	keys := func(hash, rng string) []types.KeySchemaElement {
		return []types.KeySchemaElement{
			{AttributeName: aws.String(hash), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(rng), KeyType: types.KeyTypeRange},
		}
	}
	gsi := func(name, hash, rng string, p types.ProjectionType) types.GlobalSecondaryIndex {
		return types.GlobalSecondaryIndex{
			IndexName:  aws.String(name),
			KeySchema:  keys(hash, rng),
			Projection: &types.Projection{ProjectionType: p},
		}
	}
	return []*dynamodb.CreateTableInput{
		{
			TableName:            aws.String(t.Webhooks),
			BillingMode:          types.BillingModePayPerRequest,
			AttributeDefinitions: []types.AttributeDefinition{attr(AttrPK), attr(AttrSK), attr(AttrKind), attr(AttrID), attr(AttrWHStatus)},
			KeySchema:            keys(AttrPK, AttrSK),
			GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{
				gsi(IndexByKind, AttrKind, AttrID, types.ProjectionTypeAll),
				gsi(IndexByStatus, AttrWHStatus, AttrID, types.ProjectionTypeAll),
			},
		},
		{
			TableName:            aws.String(t.Deliveries),
			BillingMode:          types.BillingModePayPerRequest,
			AttributeDefinitions: []types.AttributeDefinition{attr(AttrWebhookID), attr(AttrID)},
			KeySchema:            keys(AttrWebhookID, AttrID),
			// No index: retention needs none (TTL deletes; cleanup queries
			// each webhook's partition by id), and each one would add a paid
			// write to every delivery record.
		},
	}
}

// tableWait bounds how long CreateTables waits for a table to become ACTIVE.
const tableWait = 5 * time.Minute

// CreateTables creates both tables if they do not exist, waits until they
// are ACTIVE and enables TTL on TTLAttribute. It is idempotent: an existing
// table with the expected keys and indexes is accepted as is; one with other
// keys or missing indexes is an error rather than silently used.
//
// Table administration uses the SDK directly (not guregu) because the
// definitions are SDK inputs shared with the template test.
func CreateTables(ctx context.Context, client *dynamodb.Client, t Tables) error {
	if t.Webhooks == "" || t.Deliveries == "" {
		return errors.New("store: create tables: both table names are required")
	}
	for _, def := range Definitions(t) {
		name := aws.ToString(def.TableName)
		_, err := client.CreateTable(ctx, def)
		var inUse *types.ResourceInUseException
		switch {
		case errors.As(err, &inUse):
			// Exists (or is being created): checked below once it is active.
		case err != nil:
			return fmt.Errorf("create table %s: %w", name, err)
		}
		w := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) {
			o.MinDelay, o.MaxDelay = time.Second, 5*time.Second
		})
		out, err := w.WaitForOutput(ctx, &dynamodb.DescribeTableInput{TableName: def.TableName}, tableWait)
		if err != nil {
			return fmt.Errorf("wait for table %s: %w", name, err)
		}
		if err := sameShape(def, out.Table); err != nil {
			return fmt.Errorf("store: table %s exists with another layout: %w", name, err)
		}
		if err := enableTTL(ctx, client, name); err != nil {
			return err
		}
	}
	return nil
}

// enableTTL turns TTL on unless it already is: UpdateTimeToLive on a table
// whose TTL is already enabled is an error in DynamoDB.
func enableTTL(ctx context.Context, client *dynamodb.Client, name string) error {
	d, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
	if err != nil {
		return fmt.Errorf("describe ttl of %s: %w", name, err)
	}
	if desc := d.TimeToLiveDescription; desc != nil {
		switch desc.TimeToLiveStatus {
		case types.TimeToLiveStatusEnabled, types.TimeToLiveStatusEnabling:
			if aws.ToString(desc.AttributeName) != TTLAttribute {
				return fmt.Errorf("store: table %s: ttl is on attribute %q, want %q", name, aws.ToString(desc.AttributeName), TTLAttribute)
			}
			return nil
		}
	}
	_, err = client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(TTLAttribute),
			Enabled:       aws.Bool(true),
		},
	})
	if err != nil {
		return fmt.Errorf("enable ttl on %s: %w", name, err)
	}
	return nil
}

// sameShape checks that an existing table has the keys and indexes the
// definition asks for.
func sameShape(def *dynamodb.CreateTableInput, got *types.TableDescription) error {
	if got == nil {
		return errors.New("no description")
	}
	if a, b := keyString(def.KeySchema), keyString(got.KeySchema); a != b {
		return fmt.Errorf("key schema %s, want %s", b, a)
	}
	for _, want := range def.GlobalSecondaryIndexes {
		i := slices.IndexFunc(got.GlobalSecondaryIndexes, func(g types.GlobalSecondaryIndexDescription) bool {
			return aws.ToString(g.IndexName) == aws.ToString(want.IndexName)
		})
		if i < 0 {
			return fmt.Errorf("index %s missing", aws.ToString(want.IndexName))
		}
		if a, b := keyString(want.KeySchema), keyString(got.GlobalSecondaryIndexes[i].KeySchema); a != b {
			return fmt.Errorf("index %s: key schema %s, want %s", aws.ToString(want.IndexName), b, a)
		}
	}
	return nil
}

func keyString(ks []types.KeySchemaElement) string {
	var s string
	for _, k := range ks {
		s += fmt.Sprintf("%s:%s ", aws.ToString(k.AttributeName), k.KeyType)
	}
	return s
}
