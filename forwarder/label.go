package forwarder

import (
	"bytes"
	"strconv"
)

// maxLabelArg bounds the copy of a key kept for a log line.
const maxLabelArg = 128

// label names a command in logs: its name and its first argument (the key
// for most commands), copied and truncated.
type label struct {
	name, arg []byte
}

func (l label) String() string {
	if len(l.arg) == 0 {
		return string(l.name)
	}
	return string(l.name) + " " + strconv.Quote(string(l.arg))
}

// labelOfArgs names a command given as arguments.
func labelOfArgs(args [][]byte) label {
	var l label
	if len(args) > 0 {
		l.name = bytes.ToUpper(args[0])
	}
	if len(args) > 1 {
		l.arg = args[1][:min(len(args[1]), maxLabelArg)]
	}
	return l
}

// labelOf parses the name and first argument back from an encoded command.
func labelOf(cmd []byte) label {
	_, rest, ok := header(cmd, '*')
	if !ok {
		return label{}
	}
	name, rest := nextBulk(rest)
	arg, _ := nextBulk(rest)
	if len(arg) > maxLabelArg {
		arg = arg[:maxLabelArg]
	}
	return label{name: bytes.ToUpper(name), arg: append([]byte(nil), arg...)}
}

// nextBulk returns the bulk string at the start of b and what follows it,
// or nil, nil.
func nextBulk(b []byte) (bulk, rest []byte) {
	n, b, ok := header(b, '$')
	if !ok || n < 0 || len(b) < n+2 {
		return nil, nil
	}
	return b[:n], b[n+2:]
}

// header parses "<prefix><n>\r\n" at the start of b.
func header(b []byte, prefix byte) (n int, rest []byte, ok bool) {
	end := bytes.Index(b, []byte("\r\n"))
	if end < 2 || b[0] != prefix {
		return 0, nil, false
	}
	n, err := strconv.Atoi(string(b[1:end]))
	if err != nil {
		return 0, nil, false
	}
	return n, b[end+2:], true
}

// quoteKey quotes a key for a log line or an error, cut to maxLabelArg.
func quoteKey(key []byte) string {
	if len(key) > maxLabelArg {
		return strconv.Quote(string(key[:maxLabelArg])) + "..."
	}
	return strconv.Quote(string(key))
}
