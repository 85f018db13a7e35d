package rdbstream

import "fmt"

// RDB value types (rdb.h).
const (
	typeString            = 0
	typeList              = 1
	typeSet               = 2
	typeZset              = 3
	typeHash              = 4
	typeZset2             = 5
	typeModulePreGA       = 6
	typeModule2           = 7
	typeHashZipmap        = 9
	typeListZiplist       = 10
	typeSetIntset         = 11
	typeZsetZiplist       = 12
	typeHashZiplist       = 13
	typeListQuicklist     = 14
	typeStreamListpacks   = 15
	typeHashListpack      = 16
	typeZsetListpack      = 17
	typeListQuicklist2    = 18
	typeStreamListpacks2  = 19
	typeSetListpack       = 20
	typeStreamListpacks3  = 21
	typeHash22            = 22 // Redis 7.4 RC: hash with field TTLs; Valkey 9: RDB_TYPE_HASH_2
	typeHashListpackExRC  = 23 // Redis 7.4 RC: listpack hash with field TTLs
	typeHashMetadata      = 24 // Redis 7.4: hash with field TTLs
	typeHashListpackEx    = 25 // Redis 7.4: listpack hash with field TTLs
	quicklistNodePlain    = 1
	quicklistNodePacked   = 2
	moduleOpEOF           = 0
	moduleOpSint          = 1
	moduleOpUint          = 2
	moduleOpFloat         = 3
	moduleOpDouble        = 4
	moduleOpString        = 5
	streamIDLen           = 16
	millisecondTimeLen    = 8
	binaryDoubleLen       = 8
	textDoubleSpecialMin  = 253 // 253 NaN, 254 +inf, 255 -inf: no bytes follow
	hashMinExpireFieldLen = 8
)

// knownType reports whether t is a value type of this RDB's flavour.
func (d *Decoder) knownType(t byte) bool {
	switch {
	case t <= typeModule2, t >= typeHashZipmap && t <= typeHash22:
		return true
	case t >= typeHashListpackExRC && t <= typeHashListpackEx:
		return !d.valkey
	}
	return false
}

// walk consumes a value of type t (whose type byte is at off) without
// decoding it, knowing only where it ends.
func (d *Decoder) walk(t byte, off int64) error {
	switch t {
	case typeString, typeHashZipmap, typeListZiplist, typeSetIntset,
		typeZsetZiplist, typeHashZiplist, typeHashListpack, typeZsetListpack,
		typeSetListpack, typeHashListpackExRC:
		return d.walkString()
	case typeList, typeSet, typeListQuicklist:
		return d.walkCount(func() error { return d.walkString() })
	case typeHash:
		return d.walkCount(d.walkStrings2)
	case typeZset:
		return d.walkCount(func() error {
			if err := d.walkString(); err != nil {
				return err
			}
			return d.walkTextDouble()
		})
	case typeZset2:
		return d.walkCount(func() error {
			if err := d.walkString(); err != nil {
				return err
			}
			return d.skip(binaryDoubleLen)
		})
	case typeModulePreGA:
		return d.corrupt(off, fmt.Errorf("%w: value type 6 (module, Redis 4.0 release-candidate format)", ErrUnsupported))
	case typeModule2:
		if _, err := d.plainLen(); err != nil { // module id
			return err
		}
		return d.walkModuleOps()
	case typeListQuicklist2:
		return d.walkCount(d.walkQuicklist2Node)
	case typeStreamListpacks, typeStreamListpacks2, typeStreamListpacks3:
		return d.walkStream(t)
	case typeHash22:
		if d.valkey {
			// Valkey 9 RDB_TYPE_HASH_2: field, value, expiry ms.
			return d.walkCount(func() error {
				if err := d.walkStrings2(); err != nil {
					return err
				}
				return d.skip(millisecondTimeLen)
			})
		}
		// Redis 7.4 RC RDB_TYPE_HASH_METADATA_PRE_GA: ttl, field, value.
		return d.walkCount(d.walkTTLField)
	case typeHashMetadata:
		if err := d.skip(hashMinExpireFieldLen); err != nil {
			return err
		}
		return d.walkCount(d.walkTTLField)
	case typeHashListpackEx:
		if err := d.skip(hashMinExpireFieldLen); err != nil {
			return err
		}
		return d.walkString()
	}
	return d.corrupt(off, fmt.Errorf("unknown value type %d", t))
}

// walkCount reads a count and calls walkOne that many times.
func (d *Decoder) walkCount(walkOne func() error) error {
	n, err := d.plainLen()
	if err != nil {
		return err
	}
	for ; n > 0; n-- {
		if err := walkOne(); err != nil {
			return err
		}
	}
	return nil
}

// walkStrings2 consumes two strings (a field and its value).
func (d *Decoder) walkStrings2() error {
	if err := d.walkString(); err != nil {
		return err
	}
	return d.walkString()
}

// walkTTLField consumes a field TTL length, a field and a value.
func (d *Decoder) walkTTLField() error {
	if _, err := d.plainLen(); err != nil {
		return err
	}
	return d.walkStrings2()
}

// walkTextDouble consumes a double saved as text (type 3 zset scores).
func (d *Decoder) walkTextDouble() error {
	n, err := d.readByte()
	if err != nil || n >= textDoubleSpecialMin {
		return err
	}
	return d.skip(uint64(n))
}

// walkQuicklist2Node consumes a quicklist v2 node: container and data.
func (d *Decoder) walkQuicklist2Node() error {
	off := d.Offset()
	c, err := d.plainLen()
	if err != nil {
		return err
	}
	if c != quicklistNodePlain && c != quicklistNodePacked {
		return d.corrupt(off, fmt.Errorf("bad quicklist container %d", c))
	}
	return d.walkString()
}

// walkModuleOps consumes annotated module data up to its EOF opcode.
func (d *Decoder) walkModuleOps() error {
	for {
		off := d.Offset()
		op, err := d.plainLen()
		if err != nil {
			return err
		}
		switch op {
		case moduleOpEOF:
			return nil
		case moduleOpSint, moduleOpUint:
			_, err = d.plainLen()
		case moduleOpFloat:
			err = d.skip(4)
		case moduleOpDouble:
			err = d.skip(8)
		case moduleOpString:
			err = d.walkString()
		default:
			return d.corrupt(off, fmt.Errorf("unknown module opcode %d", op))
		}
		if err != nil {
			return err
		}
	}
}

// walkStream consumes a stream of type 15, 19 or 21.
func (d *Decoder) walkStream(t byte) error {
	// Listpack nodes: master ID and listpack.
	if err := d.walkCount(d.walkStrings2); err != nil {
		return err
	}
	// Length and last ID; from v2 the first ID, max deleted ID and
	// entries added.
	k := 3
	if t >= typeStreamListpacks2 {
		k += 5
	}
	if err := d.lens(k); err != nil {
		return err
	}
	return d.walkCount(func() error { return d.walkStreamGroup(t) })
}

// walkStreamGroup consumes one consumer group.
func (d *Decoder) walkStreamGroup(t byte) error {
	if err := d.walkString(); err != nil { // name
		return err
	}
	k := 2 // last ID
	if t >= typeStreamListpacks2 {
		k++ // entries read
	}
	if err := d.lens(k); err != nil {
		return err
	}
	// Global PEL: raw ID, delivery time, delivery count.
	err := d.walkCount(func() error {
		if err := d.skip(streamIDLen + millisecondTimeLen); err != nil {
			return err
		}
		_, err := d.plainLen()
		return err
	})
	if err != nil {
		return err
	}
	return d.walkCount(func() error { return d.walkStreamConsumer(t) })
}

// walkStreamConsumer consumes one consumer: name, seen time, active time
// (v3), and its PEL of raw IDs.
func (d *Decoder) walkStreamConsumer(t byte) error {
	if err := d.walkString(); err != nil {
		return err
	}
	n := uint64(millisecondTimeLen)
	if t >= typeStreamListpacks3 {
		n += millisecondTimeLen
	}
	if err := d.skip(n); err != nil {
		return err
	}
	return d.walkCount(func() error { return d.skip(streamIDLen) })
}
