package sam

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/systemprompt-io/webhooks/internal/config"
	"github.com/systemprompt-io/webhooks/internal/queue"
	"github.com/systemprompt-io/webhooks/internal/store"
)

// stack stands for ${AWS::StackName} when names are resolved.
const stack = "STACK"

// ---------------------------------------------------------------- tables

func TestTablesMatchStoreDefinitions(t *testing.T) {
	tpl := load(t)
	defs := store.Definitions(store.Tables{
		Webhooks:   stack + "-" + config.DefaultWebhooksTable,
		Deliveries: stack + "-" + config.DefaultDeliveriesTable,
	})
	tables := tpl.ofType("AWS::DynamoDB::Table")
	require.Len(t, tables, len(defs), "one template table per store definition")

	for _, def := range defs {
		name := aws.ToString(def.TableName)
		t.Run(name, func(t *testing.T) {
			id := tpl.findByName(t, tables, "TableName", name)
			r := tpl.Resources[id]
			p := r.Properties

			assert.Equal(t, string(def.BillingMode), p["BillingMode"])
			assert.ElementsMatch(t, attrDefs(def), listOf(t, p["AttributeDefinitions"], func(m map[string]any) string {
				return fmt.Sprintf("%v:%v", m["AttributeName"], m["AttributeType"])
			}))
			assert.Equal(t, keySchema(def.KeySchema), templateKeys(t, p["KeySchema"]), "key schema")

			want := map[string]string{}
			for _, g := range def.GlobalSecondaryIndexes {
				want[aws.ToString(g.IndexName)] = fmt.Sprintf("%v %s %v", keySchema(g.KeySchema), g.Projection.ProjectionType, g.Projection.NonKeyAttributes)
			}
			got := map[string]string{}
			for _, g := range listOf(t, p["GlobalSecondaryIndexes"], func(m map[string]any) map[string]any { return m }) {
				proj := asMap(t, g["Projection"])
				nonKey := []string{}
				for _, a := range asList(proj["NonKeyAttributes"]) {
					nonKey = append(nonKey, fmt.Sprint(a))
				}
				got[fmt.Sprint(g["IndexName"])] = fmt.Sprintf("%v %v %v", templateKeys(t, g["KeySchema"]), proj["ProjectionType"], nonKey)
			}
			if len(want) == 0 {
				assert.Empty(t, got)
			} else {
				assert.Equal(t, want, got, "global secondary indexes")
			}

			ttl := asMap(t, p["TimeToLiveSpecification"])
			assert.Equal(t, store.TTLAttribute, ttl["AttributeName"])
			assert.Equal(t, true, ttl["Enabled"])
			assert.Equal(t, true, asMap(t, p["PointInTimeRecoverySpecification"])["PointInTimeRecoveryEnabled"])
			assert.Equal(t, true, p["DeletionProtectionEnabled"])
			assert.Equal(t, true, asMap(t, p["SSESpecification"])["SSEEnabled"])
			assert.Equal(t, "Retain", r.DeletionPolicy, "data outlives the stack")
		})
	}

	// The functions are told the right table.
	env := tpl.environment(t, "ApiFunction")
	assert.Equal(t, stack+"-"+config.DefaultWebhooksTable, tpl.resourceName(t, env["TABLE_WEBHOOKS"], "TableName"))
	assert.Equal(t, stack+"-"+config.DefaultDeliveriesTable, tpl.resourceName(t, env["TABLE_DELIVERIES"], "TableName"))
}

func attrDefs(def *dynamodb.CreateTableInput) []string {
	var out []string
	for _, a := range def.AttributeDefinitions {
		out = append(out, fmt.Sprintf("%s:%s", aws.ToString(a.AttributeName), a.AttributeType))
	}
	return out
}

// ---------------------------------------------------------------- queues

func TestQueuesMatchQueueDefinitions(t *testing.T) {
	tpl := load(t)
	defs := queue.Definitions(stack + "-")
	queues := tpl.ofType("AWS::SQS::Queue")
	require.Len(t, queues, len(defs), "one template queue per queue definition")

	byRole := map[queue.Role]string{} // role -> logical id
	for _, def := range defs {
		byRole[def.Role] = tpl.findByName(t, queues, "QueueName", def.Name)
	}
	for _, def := range defs {
		t.Run(def.Name, func(t *testing.T) {
			id := byRole[def.Role]
			p := tpl.Resources[id].Properties
			for k, v := range def.Attributes {
				assert.Equal(t, v, fmt.Sprint(p[k]), "attribute %s", k)
			}
			assert.Equal(t, true, p["SqsManagedSseEnabled"], "encrypted at rest")
			if def.DeadLetter == "" {
				assert.Nil(t, p["RedrivePolicy"], "a dead-letter queue has no redrive policy")
				return
			}
			redrive := asMap(t, p["RedrivePolicy"])
			assert.Equal(t, []any{byRole[def.DeadLetter], "Arn"}, asMap(t, redrive["deadLetterTargetArn"])["Fn::GetAtt"])
			assert.Equal(t, def.MaxReceiveCount, redrive["maxReceiveCount"])
		})
	}

	// The functions are told the right queues.
	env := tpl.environment(t, "DeliveryFunction")
	assert.Equal(t, map[string]any{"Ref": byRole[queue.RoleDelivery]}, env["DELIVERY_QUEUE_URL"])
	assert.Equal(t, map[string]any{"Ref": byRole[queue.RoleEvents]}, env["EVENTS_QUEUE_URL"])

	// The delivery function consumes both source queues, reporting partial
	// batch failures, within its visibility timeout.
	fn := tpl.Resources["DeliveryFunction"].Properties
	timeout := tpl.functionTimeout(t, "DeliveryFunction")
	consumed := []string{}
	for name, e := range asMap(t, fn["Events"]) {
		ev := asMap(t, e)
		if ev["Type"] != "SQS" {
			continue
		}
		props := asMap(t, ev["Properties"])
		src := asMap(t, props["Queue"])["Fn::GetAtt"].([]any)[0].(string)
		consumed = append(consumed, src)
		assert.Equal(t, []any{"ReportBatchItemFailures"}, props["FunctionResponseTypes"], "event %s", name)
		assert.LessOrEqual(t, props["BatchSize"], queue.MaxBatchEntries, "event %s", name)
		vis, err := strconv.Atoi(fmt.Sprint(tpl.Resources[src].Properties["VisibilityTimeout"]))
		require.NoError(t, err)
		assert.GreaterOrEqual(t, vis, 6*timeout, "queue %s: visibility timeout at least 6x the function timeout", src)
	}
	assert.ElementsMatch(t, []string{byRole[queue.RoleDelivery], byRole[queue.RoleEvents]}, consumed)

	// Every dead-letter queue has an alarm on its depth.
	for _, def := range defs {
		if def.DeadLetter != "" {
			continue
		}
		assert.True(t, tpl.hasAlarm("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName",
			map[string]any{"Fn::GetAtt": []any{byRole[def.Role], "QueueName"}}), "alarm on the depth of %s", def.Name)
	}
}

// ---------------------------------------------------------------- environment

// Variables internal/config reads that a deployed function must not get:
// endpoints of local stand-ins, and the local cleanup interval (AWS runs the
// cleanup on the CleanupSchedule parameter instead).
var notDeployed = []string{"DYNAMODB_ENDPOINT", "SQS_ENDPOINT", "KMS_ENDPOINT", "EVENTBRIDGE_ENDPOINT", "CLEANUP_INTERVAL_MS"}

func TestEnvironmentMatchesConfig(t *testing.T) {
	tpl := load(t)
	var read []string
	_, err := config.Parse(func(name string) string { read = append(read, name); return "" })
	require.NoError(t, err, "config parses an empty environment")
	for _, n := range notDeployed {
		require.Contains(t, read, n, "notDeployed is out of date with internal/config")
	}

	for _, fn := range tpl.ofType("AWS::Serverless::Function") {
		t.Run(fn, func(t *testing.T) {
			env := tpl.environment(t, fn)
			for _, name := range read {
				if slices.Contains(notDeployed, name) {
					assert.NotContains(t, env, name)
				} else {
					assert.Contains(t, env, name)
				}
			}
			for name := range env {
				assert.Contains(t, read, name, "%s is set but internal/config does not read it", name)
			}

			// With the parameters' defaults the function's configuration is
			// the seed's: the template's defaults are config's defaults.
			cfg, err := config.Parse(func(name string) string { return tpl.resolve(t, env[name]) })
			require.NoError(t, err)
			assert.Equal(t, time.Duration(config.DefaultTimeoutMS)*time.Millisecond, cfg.DefaultTimeout)
			assert.Equal(t, config.DefaultRetentionDays, cfg.RetentionDays)
			assert.Equal(t, config.DefaultCleanupGrace, cfg.CleanupGraceDays)
			assert.Equal(t, config.DefaultCircuitOpenAfter, cfg.CircuitOpenAfter)
			assert.Equal(t, time.Duration(config.DefaultCircuitCooldownMS)*time.Millisecond, cfg.CircuitCooldown)
			assert.Equal(t, time.Duration(config.DefaultDisableAfterHours)*time.Hour, cfg.DisableAfter)
			assert.Equal(t, config.DefaultOperationsBus, cfg.OperationsBus)
			assert.False(t, cfg.AllowPrivate)
			assert.Equal(t, "INFO", cfg.LogLevel.String())
			assert.NoError(t, cfg.Require("TABLE_WEBHOOKS", "TABLE_DELIVERIES", "DELIVERY_QUEUE_URL", "EVENTS_QUEUE_URL", "KMS_KEY_ID"))
		})
	}

	// Every value a parameter allows is one config accepts, and its bounds
	// are config's.
	env := tpl.environment(t, "ApiFunction")
	for name, v := range env {
		ref, ok := asMapOK(v)["Ref"].(string)
		if !ok || tpl.Parameters[ref] == nil {
			continue
		}
		param := tpl.Parameters[ref]
		var values []string
		for _, a := range asList(param["AllowedValues"]) {
			values = append(values, fmt.Sprint(a))
		}
		if param["MinValue"] != nil {
			values = append(values, fmt.Sprint(param["MinValue"]), fmt.Sprint(param["MaxValue"]))
			lo, hi := param["MinValue"].(int), param["MaxValue"].(int)
			for _, bad := range []int{lo - 1, hi + 1} {
				_, err := config.Parse(only(name, strconv.Itoa(bad)))
				assert.Error(t, err, "%s=%d is outside parameter %s's bounds and config's", name, bad, ref)
			}
		}
		for _, v := range values {
			_, err := config.Parse(only(name, v))
			assert.NoError(t, err, "parameter %s allows %s=%q", ref, name, v)
		}
	}

	// The default schedule is the seed's cleanup.interval.
	every, err := rateDuration(fmt.Sprint(tpl.Parameters["CleanupSchedule"]["Default"]))
	require.NoError(t, err)
	assert.Equal(t, time.Duration(config.DefaultCleanupMS)*time.Millisecond, every)
}

func only(name, value string) func(string) string {
	return func(n string) string {
		if n == name {
			return value
		}
		return ""
	}
}

var rateExpr = regexp.MustCompile(`^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$`)

func rateDuration(expr string) (time.Duration, error) {
	m := rateExpr.FindStringSubmatch(expr)
	if m == nil {
		return 0, fmt.Errorf("not a rate expression: %q", expr)
	}
	n, _ := strconv.Atoi(m[1])
	unit := map[string]time.Duration{"minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour}[strings.TrimSuffix(m[2], "s")]
	return time.Duration(n) * unit, nil
}

// ---------------------------------------------------------------- functions

func TestFunctionsBuildWithTheMakefile(t *testing.T) {
	tpl := load(t)
	makefile, err := os.ReadFile("../../Makefile")
	require.NoError(t, err)
	fns := tpl.ofType("AWS::Serverless::Function")
	assert.ElementsMatch(t, []string{"ApiFunction", "DeliveryFunction", "CleanupFunction"}, fns)

	g := asMap(t, tpl.Globals["Function"])
	assert.Equal(t, "provided.al2023", g["Runtime"])
	assert.Equal(t, []any{"arm64"}, g["Architectures"])
	assert.Equal(t, "bootstrap", g["Handler"])
	for _, fn := range fns {
		r := tpl.Resources[fn]
		assert.Equal(t, "makefile", asMapOK(r.Metadata)["BuildMethod"], fn)
		assert.Equal(t, ".", r.Properties["CodeUri"], fn)
		assert.Regexp(t, `(?m)^build-`+fn+`:`, string(makefile), "the Makefile has sam build's target for %s", fn)
		assert.True(t, tpl.hasAlarm("AWS/Lambda", "Errors", "FunctionName", map[string]any{"Ref": fn}), "errors alarm on %s", fn)
		group := asMap(t, asMap(t, r.Properties["LoggingConfig"])["LogGroup"])["Ref"]
		assert.Equal(t, "AWS::Logs::LogGroup", tpl.Resources[fmt.Sprint(group)].Type, "%s logs to its own log group", fn)
		assert.NotNil(t, tpl.Resources[fmt.Sprint(group)].Properties["RetentionInDays"], "%s's logs expire", fn)
	}
}

func TestPermissions(t *testing.T) {
	tpl := load(t)
	crud := func(table string) map[string]any {
		return map[string]any{"DynamoDBCrudPolicy": map[string]any{"TableName": map[string]any{"Ref": table}}}
	}
	send := map[string]any{"SQSSendMessagePolicy": map[string]any{"QueueName": map[string]any{"Fn::GetAtt": []any{"DeliveryQueue", "QueueName"}}}}
	assert.ElementsMatch(t, []any{crud("WebhooksTable"), crud("DeliveriesTable"), send},
		tpl.Resources["ApiFunction"].Properties["Policies"])

	// A function with an SQS event source has a role of its own: SAM would
	// give a generated one AWSLambdaSQSQueueExecutionRole, which reaches
	// every queue of the account.
	for _, fn := range tpl.ofType("AWS::Serverless::Function") {
		for name, e := range asMapOK(tpl.Resources[fn].Properties["Events"]) {
			if asMapOK(e)["Type"] == "SQS" {
				assert.NotNil(t, tpl.Resources[fn].Properties["Role"], "%s consumes a queue (event %s) with SAM's generated role", fn, name)
			}
		}
	}

	// Delivery: its tables without Scan, sends only jobs, consumes only the
	// two source queues.
	assert.Equal(t, map[string]any{"Fn::GetAtt": []any{"DeliveryFunctionRole", "Arn"}}, tpl.Resources["DeliveryFunction"].Properties["Role"])
	assert.Nil(t, tpl.Resources["DeliveryFunction"].Properties["Policies"], "ignored next to Role")
	role := tpl.Resources["DeliveryFunctionRole"]
	require.Equal(t, "AWS::IAM::Role", role.Type)
	arn := func(id string) map[string]any { return map[string]any{"Fn::GetAtt": []any{id, "Arn"}} }
	byAction := map[string][]any{}
	for _, pol := range asList(role.Properties["Policies"]) {
		for _, s := range asList(asMap(t, asMap(t, pol)["PolicyDocument"])["Statement"]) {
			st := asMap(t, s)
			assert.Equal(t, "Allow", st["Effect"])
			assert.Nil(t, st["NotAction"])
			assert.Nil(t, st["NotResource"])
			res := st["Resource"]
			if _, ok := res.([]any); !ok {
				res = []any{res}
			}
			actions := st["Action"]
			if a, ok := actions.(string); ok {
				actions = []any{a}
			}
			for _, a := range asList(actions) {
				byAction[a.(string)] = append(byAction[a.(string)], res.([]any)...)
			}
		}
	}
	tables := []any{arn("WebhooksTable"), map[string]any{"Fn::Sub": "${WebhooksTable.Arn}/index/*"},
		arn("DeliveriesTable"), map[string]any{"Fn::Sub": "${DeliveriesTable.Arn}/index/*"}}
	for a, res := range byAction {
		switch {
		case strings.HasPrefix(a, "dynamodb:"):
			assert.NotEqual(t, "dynamodb:Scan", a, "fan-out and listings query; nothing scans")
			assert.ElementsMatch(t, tables, res, a)
		case a == "sqs:SendMessage":
			assert.Equal(t, []any{arn("DeliveryQueue")}, res, a)
		case a == "sqs:ReceiveMessage", a == "sqs:DeleteMessage", a == "sqs:GetQueueAttributes":
			assert.ElementsMatch(t, []any{arn("DeliveryQueue"), arn("EventsQueue")}, res, a)
		case a == "logs:CreateLogStream", a == "logs:PutLogEvents":
			assert.Equal(t, []any{arn("DeliveryLogGroup")}, res, a)
		case a == "events:PutEvents":
			assert.Equal(t, []any{map[string]any{"Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/${OperationsEventBus}"}}, res,
				"the operational events' bus only")
		case a == "xray:PutTraceSegments", a == "xray:PutTelemetryRecords":
			// X-Ray has no resources to scope to.
		default:
			t.Errorf("delivery role allows %s on %v", a, res)
		}
	}
	for _, a := range []string{"dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem",
		"sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "logs:PutLogEvents", "xray:PutTraceSegments",
		"events:PutEvents"} {
		assert.Contains(t, byAction, a, "delivery role lacks %s", a)
	}

	// Cleanup: Query on the webhooks' by_kind index and the deliveries table
	// (no index), BatchWriteItem on the deliveries table, and its cursor item
	// only (store.CleanupCursorKey); nothing else.
	policies := asList(tpl.Resources["CleanupFunction"].Properties["Policies"])
	require.Len(t, policies, 1)
	var got []string
	for _, s := range asList(asMap(t, policies[0])["Statement"]) {
		st := asMap(t, s)
		assert.Equal(t, "Allow", st["Effect"])
		got = append(got, fmt.Sprintf("%v on %v if %v", st["Action"], st["Resource"], st["Condition"]))
	}
	assert.ElementsMatch(t, []string{
		fmt.Sprintf("dynamodb:Query on %v if <nil>", map[string]any{"Fn::Sub": "${WebhooksTable.Arn}/index/" + store.IndexByKind}),
		fmt.Sprintf("dynamodb:Query on %v if <nil>", arn("DeliveriesTable")),
		fmt.Sprintf("dynamodb:BatchWriteItem on %v if <nil>", arn("DeliveriesTable")),
		fmt.Sprintf("[dynamodb:GetItem dynamodb:UpdateItem] on %v if %v", arn("DeliveriesTable"),
			map[string]any{"ForAllValues:StringEquals": map[string]any{"dynamodb:LeadingKeys": []any{store.CleanupCursorKey}}}),
	}, got)

	// KMS: the API seals and opens, delivery only opens, cleanup nothing.
	grants := map[string][]string{}
	for _, s := range asList(asMap(t, tpl.Resources["SecretsKey"].Properties["KeyPolicy"])["Statement"]) {
		st := asMap(t, s)
		principal := asMapOK(asMap(t, st["Principal"])["AWS"])
		role, ok := principal["Fn::GetAtt"].([]any)
		if !ok {
			continue // the account root
		}
		for _, a := range asList(st["Action"]) {
			grants[role[0].(string)] = append(grants[role[0].(string)], a.(string))
		}
		if a, ok := st["Action"].(string); ok {
			grants[role[0].(string)] = append(grants[role[0].(string)], a)
		}
	}
	assert.Equal(t, map[string][]string{
		"ApiFunctionRole":      {"kms:Encrypt", "kms:Decrypt"},
		"DeliveryFunctionRole": {"kms:Decrypt"},
	}, grants)
	assert.Equal(t, true, tpl.Resources["SecretsKey"].Properties["EnableKeyRotation"])
	env := tpl.environment(t, "ApiFunction")
	assert.Equal(t, map[string]any{"Fn::GetAtt": []any{"SecretsKey", "Arn"}}, env["KMS_KEY_ID"])
}

func TestHTTPAPI(t *testing.T) {
	tpl := load(t)
	api := tpl.Resources["HttpApi"]
	require.Equal(t, "AWS::Serverless::HttpApi", api.Type)
	auth := asMap(t, api.Properties["Auth"])
	assert.Equal(t, "AWS_IAM", auth["DefaultAuthorizer"])
	assert.Equal(t, true, auth["EnableIamAuthorizer"])

	routes := []string{}
	for name, e := range asMap(t, tpl.Resources["ApiFunction"].Properties["Events"]) {
		ev := asMap(t, e)
		require.Equal(t, "HttpApi", ev["Type"], name)
		p := asMap(t, ev["Properties"])
		assert.Equal(t, map[string]any{"Ref": "HttpApi"}, p["ApiId"], name)
		assert.Equal(t, "2.0", p["PayloadFormatVersion"], name)
		assert.Nil(t, p["Auth"], "route %s keeps the default IAM authorizer", name)
		routes = append(routes, fmt.Sprintf("%v %v", p["Method"], p["Path"]))
	}
	assert.ElementsMatch(t, []string{"ANY /", "ANY /{proxy+}"}, routes)
}

func TestOutputs(t *testing.T) {
	tpl := load(t)
	for _, name := range []string{"ApiUrl", "EventsQueueUrl", "EventsQueueArn", "DeliveryQueueUrl",
		"WebhooksTableName", "DeliveriesTableName", "SecretsKeyArn"} {
		assert.Contains(t, tpl.Outputs, name)
	}
}

// ---------------------------------------------------------------- template model

type resource struct {
	Type           string         `yaml:"Type"`
	Condition      string         `yaml:"Condition"`
	DeletionPolicy string         `yaml:"DeletionPolicy"`
	Metadata       map[string]any `yaml:"Metadata"`
	Properties     map[string]any `yaml:"Properties"`
}

type template struct {
	Parameters map[string]map[string]any `yaml:"Parameters"`
	Globals    map[string]any            `yaml:"Globals"`
	Resources  map[string]resource       `yaml:"Resources"`
	Outputs    map[string]any            `yaml:"Outputs"`
}

// load reads ../../template.yaml, with CloudFormation's short-form tags
// (!Ref, !GetAtt, !Sub, ...) turned into their long form.
func load(t *testing.T) *template {
	t.Helper()
	b, err := os.ReadFile("../../template.yaml")
	require.NoError(t, err)
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal(b, &doc))
	v, err := longForm(&doc)
	require.NoError(t, err)
	// Round-trip through YAML to fill the typed model.
	out, err := yaml.Marshal(v)
	require.NoError(t, err)
	var tpl template
	require.NoError(t, yaml.Unmarshal(out, &tpl))
	require.NotEmpty(t, tpl.Resources)
	return &tpl
}

// longForm converts a YAML node to plain values, rewriting each short-form
// intrinsic function: `!Ref X` is {"Ref": X}, `!GetAtt A.B` is
// {"Fn::GetAtt": [A, B]}, `!Sub s` is {"Fn::Sub": s}, and so on.
func longForm(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.DocumentNode:
		return longForm(n.Content[0])
	case yaml.AliasNode:
		return longForm(n.Alias)
	}
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		fn := strings.TrimPrefix(n.Tag, "!")
		plain := *n
		plain.Tag = ""
		if n.Kind == yaml.ScalarNode {
			plain.Tag = "!!str"
		}
		arg, err := longForm(&plain)
		if err != nil {
			return nil, err
		}
		switch fn {
		case "Ref", "Condition":
			return map[string]any{fn: arg}, nil
		case "GetAtt":
			if s, ok := arg.(string); ok {
				res, attr, _ := strings.Cut(s, ".")
				arg = []any{res, attr}
			}
		}
		return map[string]any{"Fn::" + fn: arg}, nil
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i < len(n.Content); i += 2 {
			v, err := longForm(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := longForm(c)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
		return l, nil
	default:
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
		return v, nil
	}
}

func (tpl *template) ofType(typ string) []string {
	var ids []string
	for id, r := range tpl.Resources {
		if r.Type == typ {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// findByName returns the one resource among ids whose property prop
// resolves to name.
func (tpl *template) findByName(t *testing.T, ids []string, prop, name string) string {
	t.Helper()
	var found []string
	for _, id := range ids {
		if tpl.resolve(t, tpl.Resources[id].Properties[prop]) == name {
			found = append(found, id)
		}
	}
	require.Len(t, found, 1, "resources whose %s is %q", prop, name)
	return found[0]
}

// resourceName resolves the name property of the resource v refers to.
func (tpl *template) resourceName(t *testing.T, v any, prop string) string {
	t.Helper()
	ref, ok := asMapOK(v)["Ref"].(string)
	require.True(t, ok, "%v is a Ref", v)
	r, ok := tpl.Resources[ref]
	require.True(t, ok, "%s is a resource", ref)
	return tpl.resolve(t, r.Properties[prop])
}

// environment is a function's environment: Globals' variables overlaid with
// its own.
func (tpl *template) environment(t *testing.T, fn string) map[string]any {
	t.Helper()
	env := map[string]any{}
	vars := func(props any) {
		for k, v := range asMapOK(asMapOK(asMapOK(props)["Environment"])["Variables"]) {
			env[k] = v
		}
	}
	vars(tpl.Globals["Function"])
	r, ok := tpl.Resources[fn]
	require.True(t, ok, "function %s", fn)
	vars(r.Properties)
	return env
}

func (tpl *template) functionTimeout(t *testing.T, fn string) int {
	t.Helper()
	v := tpl.Resources[fn].Properties["Timeout"]
	if v == nil {
		v = asMap(t, tpl.Globals["Function"])["Timeout"]
	}
	n, ok := v.(int)
	require.True(t, ok, "%s timeout %v", fn, v)
	return n
}

func (tpl *template) hasAlarm(namespace, metric, dim string, value any) bool {
	for _, id := range tpl.ofType("AWS::CloudWatch::Alarm") {
		p := tpl.Resources[id].Properties
		if p["Namespace"] != namespace || p["MetricName"] != metric {
			continue
		}
		for _, d := range asList(p["Dimensions"]) {
			dm := asMapOK(d)
			if dm["Name"] == dim && fmt.Sprint(dm["Value"]) == fmt.Sprint(value) {
				return true
			}
		}
	}
	return false
}

// resolve turns a value into the string CloudFormation would give it with
// the parameters' defaults, the stack named STACK and each resource's
// physical id standing as "<LogicalId>" (its attribute as
// "<LogicalId>.Attr").
func (tpl *template) resolve(t *testing.T, v any) string {
	t.Helper()
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case int, bool, float64:
		return fmt.Sprint(v)
	case map[string]any:
		if ref, ok := v["Ref"].(string); ok {
			if p, ok := tpl.Parameters[ref]; ok {
				return fmt.Sprint(p["Default"])
			}
			return "<" + ref + ">"
		}
		if ga, ok := v["Fn::GetAtt"].([]any); ok {
			return fmt.Sprintf("<%v.%v>", ga[0], ga[1])
		}
		if s, ok := v["Fn::Sub"].(string); ok {
			return subVar.ReplaceAllStringFunc(s, func(m string) string {
				name := m[2 : len(m)-1]
				switch {
				case name == "AWS::StackName":
					return stack
				case strings.Contains(name, "."):
					return "<" + name + ">"
				default:
					return tpl.resolve(t, map[string]any{"Ref": name})
				}
			})
		}
	}
	t.Fatalf("cannot resolve %v", v)
	return ""
}

var subVar = regexp.MustCompile(`\$\{[^}]+\}`)

func templateKeys(t *testing.T, v any) []string {
	return listOf(t, v, func(m map[string]any) string { return fmt.Sprintf("%v:%v", m["AttributeName"], m["KeyType"]) })
}

func keySchema(ks []types.KeySchemaElement) []string {
	var out []string
	for _, k := range ks {
		out = append(out, fmt.Sprintf("%s:%s", aws.ToString(k.AttributeName), k.KeyType))
	}
	return out
}

func listOf[T any](t *testing.T, v any, f func(map[string]any) T) []T {
	t.Helper()
	var out []T
	for _, e := range asList(v) {
		out = append(out, f(asMap(t, e)))
	}
	return out
}

func asMap(t *testing.T, v any) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	require.True(t, ok, "want a mapping, got %T %v", v, v)
	return m
}

func asMapOK(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}
