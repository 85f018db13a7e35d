package rdbstream_test

import (
	"bytes"
	"fmt"
	"io"
	"log"

	"github.com/replicant/replicant/rdbstream"
)

func Example() {
	// A version 9 RDB with one string key in db 2, and checksums disabled
	// (eight zero bytes after the EOF opcode).
	rdb := []byte("REDIS0009" +
		"\xfe\x02" + // SELECTDB 2
		"\x00" + "\x05hello" + "\x05world" + // string "hello" = "world"
		"\xff" + "\x00\x00\x00\x00\x00\x00\x00\x00")

	d := rdbstream.NewDecoder(bytes.NewReader(rdb), rdbstream.Options{})
	for {
		e, err := d.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		// A real caller sends: SELECT e.DB, then
		// RESTORE e.Key e.ExpireAt e.Payload REPLACE ABSTTL.
		fmt.Printf("db %d key %q type %d payload %x\n", e.DB, e.Key, e.Type, e.Payload)
	}
	fmt.Println("version", d.Version(), "bytes", d.Offset())
	// Output:
	// db 2 key "hello" type 0 payload 0005776f726c640900c9236d48842f1173
	// version 9 bytes 33
}
