package bench

import (
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Item is a DynamoDB item as the SDK carries it.
type Item = map[string]types.AttributeValue

// ItemSize is the size DynamoDB bills an item by: the UTF-8 length of every
// attribute name plus the size of its value, by the rules of the DynamoDB
// developer guide ("Item sizes and formats"): strings and binaries by their
// bytes; a number by ~1 byte per two significant digits + 1 (+1 if
// negative); booleans and null 1 byte; a list or map 3 bytes + 1 byte per
// element + the elements (a map's element names included); a set the sum of
// its elements.
func ItemSize(it Item) int {
	n := 0
	for name, v := range it {
		n += len(name) + valueSize(v)
	}
	return n
}

func valueSize(v types.AttributeValue) int {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		return numberSize(v.Value)
	case *types.AttributeValueMemberB:
		return len(v.Value)
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range v.Value {
			n += 1 + valueSize(e)
		}
		return n
	case *types.AttributeValueMemberM:
		n := 3
		for k, e := range v.Value {
			n += 1 + len(k) + valueSize(e)
		}
		return n
	case *types.AttributeValueMemberSS:
		n := 0
		for _, s := range v.Value {
			n += len(s)
		}
		return n
	case *types.AttributeValueMemberNS:
		n := 0
		for _, s := range v.Value {
			n += numberSize(s)
		}
		return n
	case *types.AttributeValueMemberBS:
		n := 0
		for _, b := range v.Value {
			n += len(b)
		}
		return n
	}
	return 0
}

// numberSize: leading and trailing zeros are not stored; the exponent is
// part of DynamoDB's encoding, not of the digits.
func numberSize(s string) int {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimLeft(s, "+-")
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		s = s[:i]
	}
	digits := strings.Trim(strings.Replace(s, ".", "", 1), "0")
	n := (utf8.RuneCountInString(digits)+1)/2 + 1
	if neg {
		n++
	}
	return n
}

// project returns the attributes of it named in names (nil when it lacks
// any of the required ones).
func project(it Item, required []string, also func(string) bool) Item {
	if it == nil {
		return nil
	}
	out := Item{}
	for _, k := range required {
		v, ok := it[k]
		if !ok {
			return nil
		}
		out[k] = v
	}
	for k, v := range it {
		if also(k) {
			out[k] = v
		}
	}
	return out
}
