package cost

import (
	"fmt"
	"os"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// Memory is the memory size (MB) of the functions the cost model prices.
type Memory struct {
	API      int // ApiFunction
	Delivery int // DeliveryFunction
	Cleanup  int // CleanupFunction
}

// MemoryFromTemplate reads the functions' MemorySize from a SAM template:
// a function's own, else Globals.Function's, else Lambda's default (128).
func MemoryFromTemplate(path string) (Memory, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Memory{}, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return Memory{}, fmt.Errorf("%s: %w", path, err)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	size := func(n *yaml.Node) (int, bool, error) {
		if n == nil {
			return 0, false, nil
		}
		v, err := strconv.Atoi(n.Value)
		if err != nil {
			return 0, false, fmt.Errorf("%s: MemorySize %q is not a number", path, n.Value)
		}
		return v, true, nil
	}
	global, ok, err := size(child(root, "Globals", "Function", "MemorySize"))
	if err != nil {
		return Memory{}, err
	}
	if !ok {
		global = 128
	}
	var m Memory
	for name, dst := range map[string]*int{"ApiFunction": &m.API, "DeliveryFunction": &m.Delivery, "CleanupFunction": &m.Cleanup} {
		fn := child(root, "Resources", name)
		if fn == nil {
			return Memory{}, fmt.Errorf("%s: no %s", path, name)
		}
		v, ok, err := size(child(fn, "Properties", "MemorySize"))
		if err != nil {
			return Memory{}, err
		}
		if !ok {
			v = global
		}
		*dst = v
	}
	return m, nil
}

// child follows keys down a YAML mapping; nil when a key is missing.
func child(n *yaml.Node, keys ...string) *yaml.Node {
	for _, k := range keys {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
				break
			}
		}
		n = next
	}
	return n
}
