package bench

import (
	"context"
	"fmt"
	"maps"
	"math"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"
)

// Units are DynamoDB capacity units (on-demand: read and write request
// units).
type Units struct {
	Read  float64
	Write float64
}

// Add returns u + v.
func (u Units) Add(v Units) Units { return Units{u.Read + v.Read, u.Write + v.Write} }

// Capacity measures the DynamoDB capacity consumed by the requests of the
// clients it is installed on, two ways:
//
//   - Reported: it sets ReturnConsumedCapacity TOTAL on every input that has
//     the field and sums ConsumedCapacity from every output. DynamoDB's
//     figures are the bill; stand-ins' may not be (moto answers a constant
//     per operation, kumo nothing).
//   - Computed: what DynamoDB bills by its documented rules, from the item
//     sizes (ItemSize): a write is ⌈max(old, new) / 1 KB⌉ units (×2 in a
//     transaction), plus one write per secondary index entry put or deleted
//     (two when its key changes), a read ⌈size / 4 KB⌉ (half when
//     eventually consistent; a query's page sums its items first). To know
//     the old and new items it asks for them: PutItem and DeleteItem get
//     ReturnValues ALL_OLD and UpdateItem ALL_NEW when the caller asked for
//     none (nothing the callers read), and an update's or batch/transaction
//     write's other image is read with a side GetItem on an unmeasured
//     client. A read whose answer lacks attributes (a projection) or items
//     (a filter) is read again in full when Report runs.
//
// The side reads take time inside the measured work: SideTime says how much,
// so a caller timing a piece of work can take it out.
type Capacity struct {
	raw *dynamodb.Client

	mu       sync.Mutex
	reported map[string]Units
	computed map[string]Units
	targets  map[string]float64 // computed write units by table or table/index
	shapes   map[string]*shape
	pending  []func(context.Context) error
	errs     []error

	side atomic.Int64 // ns spent in side reads
}

// NewCapacity returns a meter whose side reads use raw, a client without the
// meter.
func NewCapacity(raw *dynamodb.Client) *Capacity {
	c := &Capacity{raw: raw}
	c.Reset()
	return c
}

// Option is the API option that installs the meter on a client.
func (c *Capacity) Option(s *middleware.Stack) error {
	return s.Initialize.Add(middleware.InitializeMiddlewareFunc("bench.Capacity", c.handle), middleware.After)
}

// Reset forgets what was measured (not the table shapes).
func (c *Capacity) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reported, c.computed, c.targets = map[string]Units{}, map[string]Units{}, map[string]float64{}
	if c.shapes == nil {
		c.shapes = map[string]*shape{}
	}
	c.pending, c.errs = nil, nil
	c.side.Store(0)
}

// SideTime is the time spent so far in the meter's own reads.
func (c *Capacity) SideTime() time.Duration { return time.Duration(c.side.Load()) }

// Prepare reads the shapes (keys, indexes) of tables up front, so that no
// DescribeTable happens inside measured work.
func (c *Capacity) Prepare(ctx context.Context, tables ...string) error {
	for _, t := range tables {
		if _, err := c.shape(ctx, t); err != nil {
			return err
		}
	}
	return nil
}

// CapacityReport is what a Capacity measured.
type CapacityReport struct {
	Reported map[string]Units   // by operation, as the backend answered
	Computed map[string]Units   // by operation, by DynamoDB's rules
	Writes   map[string]float64 // computed write units by table, and by "table/index"
}

// ReportedTotal sums the reported units.
func (r CapacityReport) ReportedTotal() Units { return sum(r.Reported) }

// ComputedTotal sums the computed units.
func (r CapacityReport) ComputedTotal() Units { return sum(r.Computed) }

func sum(m map[string]Units) Units {
	var t Units
	for _, u := range m {
		t = t.Add(u)
	}
	return t
}

// Report finishes the deferred reads and returns the figures.
func (c *Capacity) Report(ctx context.Context) (CapacityReport, error) {
	c.mu.Lock()
	pending := c.pending
	c.pending = nil
	c.mu.Unlock()
	for _, f := range pending {
		if err := f(ctx); err != nil {
			c.fail(err)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	r := CapacityReport{Reported: maps.Clone(c.reported), Computed: maps.Clone(c.computed), Writes: maps.Clone(c.targets)}
	if len(c.errs) > 0 {
		return r, fmt.Errorf("capacity meter: %w (and %d more)", c.errs[0], len(c.errs)-1)
	}
	return r, nil
}

func (c *Capacity) fail(err error) {
	c.mu.Lock()
	c.errs = append(c.errs, err)
	c.mu.Unlock()
}

func (c *Capacity) addReported(op string, u Units) {
	c.mu.Lock()
	c.reported[op] = c.reported[op].Add(u)
	c.mu.Unlock()
}

func (c *Capacity) addComputed(op string, u Units) {
	c.mu.Lock()
	c.computed[op] = c.computed[op].Add(u)
	c.mu.Unlock()
}

func (c *Capacity) defer_(f func(context.Context) error) {
	c.mu.Lock()
	c.pending = append(c.pending, f)
	c.mu.Unlock()
}

// shape is what the meter needs of a table: its key and its indexes.
type shape struct {
	keys    []string
	indexes []index
}

type index struct {
	name string
	keys []string
	// projected reports whether a non-key attribute is in the index.
	projected func(string) bool
}

func (c *Capacity) shape(ctx context.Context, table string) (*shape, error) {
	c.mu.Lock()
	s := c.shapes[table]
	c.mu.Unlock()
	if s != nil {
		return s, nil
	}
	t0 := time.Now()
	out, err := c.raw.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	c.side.Add(int64(time.Since(t0)))
	if err != nil {
		return nil, fmt.Errorf("describe %s: %w", table, err)
	}
	d := out.Table
	s = &shape{keys: keyNames(d.KeySchema)}
	add := func(name string, ks []types.KeySchemaElement, p *types.Projection) {
		ix := index{name: name, keys: keyNames(ks), projected: func(string) bool { return false }}
		if p != nil {
			switch p.ProjectionType {
			case types.ProjectionTypeAll:
				ix.projected = func(string) bool { return true }
			case types.ProjectionTypeInclude:
				inc := slices.Clone(p.NonKeyAttributes)
				ix.projected = func(a string) bool { return slices.Contains(inc, a) }
			}
		}
		s.indexes = append(s.indexes, ix)
	}
	for _, g := range d.GlobalSecondaryIndexes {
		add(aws.ToString(g.IndexName), g.KeySchema, g.Projection)
	}
	for _, l := range d.LocalSecondaryIndexes {
		add(aws.ToString(l.IndexName), l.KeySchema, l.Projection)
	}
	c.mu.Lock()
	c.shapes[table] = s
	c.mu.Unlock()
	return s, nil
}

func keyNames(ks []types.KeySchemaElement) []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = aws.ToString(k.AttributeName)
	}
	return out
}

func (s *shape) key(it Item) Item {
	k := Item{}
	for _, n := range s.keys {
		if v, ok := it[n]; ok {
			k[n] = v
		}
	}
	return k
}

// entry is the item's entry in index ix: nil when the item is not in it.
func (s *shape) entry(ix index, it Item) Item {
	return project(it, append(slices.Clone(ix.keys), s.keys...), ix.projected)
}

// writeUnits charges the write of one item that was old and became new
// (nil: absent), times factor (2 in a transaction): the table by the larger
// image, and each index by the entries put and deleted.
func (c *Capacity) writeUnits(op, table string, s *shape, old, new Item, factor float64) {
	units := factor * kb(max(ItemSize(old), ItemSize(new)), 1024)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.targets[table] += units
	total := units
	for _, ix := range s.indexes {
		o, n := s.entry(ix, old), s.entry(ix, new)
		var u float64
		switch {
		case o == nil && n == nil:
		case o == nil:
			u = kb(ItemSize(n), 1024)
		case n == nil:
			u = kb(ItemSize(o), 1024)
		case !reflect.DeepEqual(project(o, ix.keys, never), project(n, ix.keys, never)):
			u = kb(ItemSize(o), 1024) + kb(ItemSize(n), 1024) // delete + put
		case !reflect.DeepEqual(o, n):
			u = kb(max(ItemSize(o), ItemSize(n)), 1024)
		}
		u *= factor
		c.targets[table+"/"+ix.name] += u
		total += u
	}
	c.computed[op] = c.computed[op].Add(Units{Write: total})
}

func never(string) bool { return false }

// kb is ⌈size / unit⌉, at least 1: DynamoDB's rounding of capacity units.
func kb(size, unit int) float64 {
	return max(1, math.Ceil(float64(size)/float64(unit)))
}

// readUnits charges reading size bytes in one request.
func readUnits(size int, consistent bool) float64 {
	u := kb(size, 4096)
	if !consistent {
		u /= 2
	}
	return u
}

// get reads an item on the unmeasured client (strongly consistent).
func (c *Capacity) get(ctx context.Context, table string, key Item) (Item, error) {
	t0 := time.Now()
	out, err := c.raw.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: key, ConsistentRead: aws.Bool(true)})
	c.side.Add(int64(time.Since(t0)))
	if err != nil {
		return nil, fmt.Errorf("side read of %s: %w", table, err)
	}
	return out.Item, nil
}

func total(p *types.ReturnConsumedCapacity) {
	if *p == "" || *p == types.ReturnConsumedCapacityNone {
		*p = types.ReturnConsumedCapacityTotal
	}
}

func (c *Capacity) handle(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	op := awsmiddleware.GetOperationName(ctx)
	var after func(result any, err error)
	switch p := in.Parameters.(type) {
	case *dynamodb.PutItemInput:
		total(&p.ReturnConsumedCapacity)
		after = c.put(ctx, op, p)
	case *dynamodb.DeleteItemInput:
		total(&p.ReturnConsumedCapacity)
		after = c.delete(ctx, op, p)
	case *dynamodb.UpdateItemInput:
		total(&p.ReturnConsumedCapacity)
		after = c.update(ctx, op, p)
	case *dynamodb.GetItemInput:
		total(&p.ReturnConsumedCapacity)
		after = c.getItem(op, p)
	case *dynamodb.QueryInput:
		total(&p.ReturnConsumedCapacity)
		after = c.query(op, p)
	case *dynamodb.ScanInput:
		total(&p.ReturnConsumedCapacity)
		after = c.scan(op, p)
	case *dynamodb.BatchGetItemInput:
		total(&p.ReturnConsumedCapacity)
		after = c.batchGet(op, p)
	case *dynamodb.BatchWriteItemInput:
		total(&p.ReturnConsumedCapacity)
		after = c.batchWrite(ctx, op, p)
	case *dynamodb.TransactWriteItemsInput:
		total(&p.ReturnConsumedCapacity)
		after = c.transactWrite(ctx, op, p)
	case *dynamodb.TransactGetItemsInput:
		total(&p.ReturnConsumedCapacity)
		after = c.transactGet(op)
	}
	out, md, err := next.HandleInitialize(ctx, in)
	if after != nil {
		after(out.Result, err)
	}
	if err == nil {
		c.collect(op, out.Result)
	}
	return out, md, err
}

// collect sums the ConsumedCapacity of an output.
func (c *Capacity) collect(op string, result any) {
	read := slices.Contains([]string{"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"}, op)
	var ccs []types.ConsumedCapacity
	switch o := result.(type) {
	case *dynamodb.PutItemOutput:
		ccs = one(o.ConsumedCapacity)
	case *dynamodb.DeleteItemOutput:
		ccs = one(o.ConsumedCapacity)
	case *dynamodb.UpdateItemOutput:
		ccs = one(o.ConsumedCapacity)
	case *dynamodb.GetItemOutput:
		ccs = one(o.ConsumedCapacity)
	case *dynamodb.QueryOutput:
		ccs = one(o.ConsumedCapacity)
	case *dynamodb.ScanOutput:
		ccs = one(o.ConsumedCapacity)
	case *dynamodb.BatchGetItemOutput:
		ccs = o.ConsumedCapacity
	case *dynamodb.BatchWriteItemOutput:
		ccs = o.ConsumedCapacity
	case *dynamodb.TransactWriteItemsOutput:
		ccs = o.ConsumedCapacity
	case *dynamodb.TransactGetItemsOutput:
		ccs = o.ConsumedCapacity
	default:
		return
	}
	var u Units
	for _, cc := range ccs {
		switch {
		case cc.ReadCapacityUnits != nil || cc.WriteCapacityUnits != nil:
			u.Read += aws.ToFloat64(cc.ReadCapacityUnits)
			u.Write += aws.ToFloat64(cc.WriteCapacityUnits)
		case read:
			u.Read += aws.ToFloat64(cc.CapacityUnits)
		default:
			u.Write += aws.ToFloat64(cc.CapacityUnits)
		}
	}
	c.addReported(op, u)
}

func one(cc *types.ConsumedCapacity) []types.ConsumedCapacity {
	if cc == nil {
		return nil
	}
	return []types.ConsumedCapacity{*cc}
}

func (c *Capacity) put(ctx context.Context, op string, p *dynamodb.PutItemInput) func(any, error) {
	table := aws.ToString(p.TableName)
	s, err := c.shape(ctx, table)
	if err != nil {
		c.fail(err)
		return nil
	}
	if p.ReturnValues == "" || p.ReturnValues == types.ReturnValueNone {
		p.ReturnValues = types.ReturnValueAllOld
	}
	return func(result any, err error) {
		if err != nil {
			// A failed condition is billed too, by the stored item; the
			// minimum stands in for it.
			c.addComputed(op, Units{Write: 1})
			return
		}
		c.writeUnits(op, table, s, result.(*dynamodb.PutItemOutput).Attributes, p.Item, 1)
	}
}

func (c *Capacity) delete(ctx context.Context, op string, p *dynamodb.DeleteItemInput) func(any, error) {
	table := aws.ToString(p.TableName)
	s, err := c.shape(ctx, table)
	if err != nil {
		c.fail(err)
		return nil
	}
	if p.ReturnValues == "" || p.ReturnValues == types.ReturnValueNone {
		p.ReturnValues = types.ReturnValueAllOld
	}
	return func(result any, err error) {
		if err != nil {
			c.addComputed(op, Units{Write: 1})
			return
		}
		c.writeUnits(op, table, s, result.(*dynamodb.DeleteItemOutput).Attributes, nil, 1)
	}
}

func (c *Capacity) update(ctx context.Context, op string, p *dynamodb.UpdateItemInput) func(any, error) {
	table := aws.ToString(p.TableName)
	s, err := c.shape(ctx, table)
	if err != nil {
		c.fail(err)
		return nil
	}
	old, err := c.get(ctx, table, p.Key)
	if err != nil {
		c.fail(err)
		return nil
	}
	wantNew := p.ReturnValues == types.ReturnValueAllNew
	if p.ReturnValues == "" || p.ReturnValues == types.ReturnValueNone {
		p.ReturnValues, wantNew = types.ReturnValueAllNew, true
	}
	return func(result any, err error) {
		if err != nil {
			c.addComputed(op, Units{Write: 1})
			return
		}
		var nu Item
		if wantNew {
			nu = result.(*dynamodb.UpdateItemOutput).Attributes
		} else if nu, err = c.get(ctx, table, p.Key); err != nil {
			c.fail(err)
			return
		}
		c.writeUnits(op, table, s, old, nu, 1)
	}
}

func (c *Capacity) getItem(op string, p *dynamodb.GetItemInput) func(any, error) {
	table, consistent := aws.ToString(p.TableName), aws.ToBool(p.ConsistentRead)
	return func(result any, err error) {
		if err != nil {
			return
		}
		it := result.(*dynamodb.GetItemOutput).Item
		if aws.ToString(p.ProjectionExpression) == "" || it == nil {
			c.addComputed(op, Units{Read: readUnits(ItemSize(it), consistent)})
			return
		}
		// A projection is billed by the whole item.
		c.defer_(func(ctx context.Context) error {
			full, err := c.get(ctx, table, p.Key)
			if err != nil {
				return err
			}
			c.addComputed(op, Units{Read: readUnits(ItemSize(full), consistent)})
			return nil
		})
	}
}

func (c *Capacity) query(op string, p *dynamodb.QueryInput) func(any, error) {
	return func(result any, err error) {
		if err != nil {
			return
		}
		o := result.(*dynamodb.QueryOutput)
		consistent := aws.ToBool(p.ConsistentRead)
		if aws.ToString(p.ProjectionExpression) == "" && aws.ToString(p.FilterExpression) == "" && p.Select != types.SelectCount {
			c.addComputed(op, Units{Read: readUnits(itemsSize(o.Items), consistent)})
			return
		}
		// Read the same page again without filter and projection: DynamoDB
		// bills what it read, not what it returned.
		q := *p
		q.FilterExpression, q.ProjectionExpression, q.Select = nil, nil, ""
		q.ReturnConsumedCapacity = types.ReturnConsumedCapacityNone
		q.ExpressionAttributeNames, q.ExpressionAttributeValues = pruneExpr(p.ExpressionAttributeNames, p.ExpressionAttributeValues, aws.ToString(p.KeyConditionExpression))
		c.defer_(func(ctx context.Context) error {
			out, err := c.raw.Query(ctx, &q)
			if err != nil {
				return fmt.Errorf("side query of %s: %w", aws.ToString(p.TableName), err)
			}
			c.addComputed(op, Units{Read: readUnits(itemsSize(out.Items), consistent)})
			return nil
		})
	}
}

func (c *Capacity) scan(op string, p *dynamodb.ScanInput) func(any, error) {
	return func(result any, err error) {
		if err != nil {
			return
		}
		// Scans (none on the service's paths) are charged by what they
		// returned; a filtered or projected scan is undercounted.
		c.addComputed(op, Units{Read: readUnits(itemsSize(result.(*dynamodb.ScanOutput).Items), aws.ToBool(p.ConsistentRead))})
	}
}

func (c *Capacity) batchGet(op string, p *dynamodb.BatchGetItemInput) func(any, error) {
	return func(result any, err error) {
		if err != nil {
			return
		}
		for table, items := range result.(*dynamodb.BatchGetItemOutput).Responses {
			ka := p.RequestItems[table]
			consistent := aws.ToBool(ka.ConsistentRead)
			if aws.ToString(ka.ProjectionExpression) == "" {
				var u float64
				for _, it := range items {
					u += readUnits(ItemSize(it), consistent) // each item rounds up on its own
				}
				c.addComputed(op, Units{Read: u})
				continue
			}
			c.defer_(func(ctx context.Context) error {
				s, err := c.shape(ctx, table)
				if err != nil {
					return err
				}
				var u float64
				for _, it := range items {
					full, err := c.get(ctx, table, s.key(it))
					if err != nil {
						return err
					}
					u += readUnits(ItemSize(full), consistent)
				}
				c.addComputed(op, Units{Read: u})
				return nil
			})
		}
	}
}

func (c *Capacity) transactGet(op string) func(any, error) {
	return func(result any, err error) {
		if err != nil {
			return
		}
		var u float64
		for _, r := range result.(*dynamodb.TransactGetItemsOutput).Responses {
			u += 2 * readUnits(ItemSize(r.Item), true)
		}
		c.addComputed(op, Units{Read: u})
	}
}

// write is one item of a batch or transaction write.
type write struct {
	table string
	s     *shape
	key   Item
	old   Item
	put   Item // the new item of a Put; nil otherwise
	del   bool
}

func (c *Capacity) olds(ctx context.Context, ws []*write) error {
	for _, w := range ws {
		s, err := c.shape(ctx, w.table)
		if err != nil {
			return err
		}
		w.s = s
		if w.key == nil {
			w.key = s.key(w.put)
		}
		if w.old, err = c.get(ctx, w.table, w.key); err != nil {
			return err
		}
	}
	return nil
}

func (c *Capacity) batchWrite(ctx context.Context, op string, p *dynamodb.BatchWriteItemInput) func(any, error) {
	var ws []*write
	for table, reqs := range p.RequestItems {
		for _, r := range reqs {
			switch {
			case r.PutRequest != nil:
				ws = append(ws, &write{table: table, put: r.PutRequest.Item})
			case r.DeleteRequest != nil:
				ws = append(ws, &write{table: table, key: r.DeleteRequest.Key, del: true})
			}
		}
	}
	if err := c.olds(ctx, ws); err != nil {
		c.fail(err)
		return nil
	}
	return func(result any, err error) {
		if err != nil {
			return
		}
		shapes := map[string]*shape{}
		for _, w := range ws {
			shapes[w.table] = w.s
		}
		unprocessed := map[string]bool{}
		for table, reqs := range result.(*dynamodb.BatchWriteItemOutput).UnprocessedItems {
			for _, r := range reqs {
				var k Item
				switch {
				case r.PutRequest != nil && shapes[table] != nil:
					k = shapes[table].key(r.PutRequest.Item)
				case r.DeleteRequest != nil:
					k = r.DeleteRequest.Key
				}
				unprocessed[table+keyString(k)] = true
			}
		}
		for _, w := range ws {
			if !unprocessed[w.table+keyString(w.key)] {
				c.writeUnits(op, w.table, w.s, w.old, w.put, 1)
			}
		}
	}
}

func (c *Capacity) transactWrite(ctx context.Context, op string, p *dynamodb.TransactWriteItemsInput) func(any, error) {
	var ws []*write
	for _, t := range p.TransactItems {
		switch {
		case t.Put != nil:
			ws = append(ws, &write{table: aws.ToString(t.Put.TableName), put: t.Put.Item})
		case t.Delete != nil:
			ws = append(ws, &write{table: aws.ToString(t.Delete.TableName), key: t.Delete.Key, del: true})
		case t.Update != nil:
			ws = append(ws, &write{table: aws.ToString(t.Update.TableName), key: t.Update.Key})
		case t.ConditionCheck != nil:
			// Billed as a transactional write of the item, which stays.
			ws = append(ws, &write{table: aws.ToString(t.ConditionCheck.TableName), key: t.ConditionCheck.Key})
		}
	}
	if err := c.olds(ctx, ws); err != nil {
		c.fail(err)
		return nil
	}
	return func(_ any, err error) {
		if err != nil {
			return // a cancelled transaction is billed too; not on the measured paths
		}
		for _, w := range ws {
			nu := w.put
			if w.put == nil && !w.del {
				if nu, err = c.get(ctx, w.table, w.key); err != nil {
					c.fail(err)
					return
				}
			}
			c.writeUnits(op, w.table, w.s, w.old, nu, 2)
		}
	}
}

func itemsSize(items []Item) int {
	n := 0
	for _, it := range items {
		n += ItemSize(it)
	}
	return n
}

func keyString(k Item) string {
	names := slices.Collect(maps.Keys(k))
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "|%s=", n)
		switch v := k[n].(type) {
		case *types.AttributeValueMemberS:
			b.WriteString("S:" + v.Value)
		case *types.AttributeValueMemberN:
			b.WriteString("N:" + v.Value)
		case *types.AttributeValueMemberB:
			fmt.Fprintf(&b, "B:%x", v.Value)
		}
	}
	return b.String()
}

var placeholder = regexp.MustCompile(`[#:][A-Za-z0-9_]+`)

// pruneExpr keeps the expression names and values that expr uses: DynamoDB
// refuses unused ones.
func pruneExpr(names map[string]string, values map[string]types.AttributeValue, expr string) (map[string]string, map[string]types.AttributeValue) {
	used := map[string]bool{}
	for _, p := range placeholder.FindAllString(expr, -1) {
		used[p] = true
	}
	var n map[string]string
	for k, v := range names {
		if used[k] {
			if n == nil {
				n = map[string]string{}
			}
			n[k] = v
		}
	}
	var vs map[string]types.AttributeValue
	for k, v := range values {
		if used[k] {
			if vs == nil {
				vs = map[string]types.AttributeValue{}
			}
			vs[k] = v
		}
	}
	return n, vs
}
