package rewrite

import (
	"errors"
	"fmt"

	"github.com/replicant/replicant/rdbstream"
)

// Lists are decoded here rather than with hdt3213/rdb, which fails on a
// quicklist whose plain node (an element larger than a node's size limit,
// written by Redis 7.2 and newer) is followed by another node.

// RDB types of lists: linked (before 3.2), ziplist, quicklist of ziplists
// (3.2 to 6.2), quicklist of listpacks and plain nodes (7.0 and newer).
const (
	typeList          = 1
	typeListZiplist   = 10
	typeListQuicklist = 14
	typeListQuickl2   = 18
)

// Quicklist 2 node containers.
const (
	quicklistPlain  = 1
	quicklistPacked = 2
)

var errList = errors.New("list value does not parse")

func isList(t byte) bool {
	return t == typeList || t == typeListZiplist || t == typeListQuicklist || t == typeListQuickl2
}

// decodeList returns the elements of a list value of RDB type typ, in
// order. Elements are slices of value or of decompressed nodes.
func decodeList(typ byte, value []byte) ([][]byte, error) {
	r := &streamReader{b: value}
	var items [][]byte
	add := func(node [][]byte, err error) {
		if r.err == nil {
			r.err = err
		}
		items = append(items, node...)
	}
	switch typ {
	case typeList:
		for n := r.len(); n > 0 && r.err == nil; n-- {
			items = append(items, r.str())
		}
	case typeListZiplist:
		add(zipItems(r.str(), r))
	case typeListQuicklist:
		for n := r.len(); n > 0 && r.err == nil; n-- {
			add(zipItems(r.str(), r))
		}
	case typeListQuickl2:
		for n := r.len(); n > 0 && r.err == nil; n-- {
			add(quicklist2Node(r.len(), r.str(), r))
		}
	}
	if r.err == nil && len(r.b) > 0 {
		r.err = fmt.Errorf("%d bytes after the list", len(r.b))
	}
	if r.err != nil {
		return nil, fmt.Errorf("%w: %v", errList, r.err)
	}
	return items, nil
}

// zipItems reads the elements of a ziplist node, unless r failed already.
func zipItems(zl []byte, r *streamReader) ([][]byte, error) {
	if r.err != nil {
		return nil, nil
	}
	return rdbstream.ZiplistItems(zl)
}

// quicklist2Node reads one node: a plain node is one element, a packed one
// a listpack.
func quicklist2Node(container uint64, node []byte, r *streamReader) ([][]byte, error) {
	if r.err != nil {
		return nil, nil
	}
	switch container {
	case quicklistPlain:
		return [][]byte{node}, nil
	case quicklistPacked:
		return rdbstream.ListpackItems(node)
	}
	return nil, fmt.Errorf("bad quicklist node container %d", container)
}
