package resp

import "strconv"

// AppendCommand appends args encoded as a RESP array of bulk strings.
func AppendCommand(dst []byte, args ...[]byte) []byte {
	dst = appendHeader(dst, '*', len(args))
	for _, a := range args {
		dst = AppendBulk(dst, a)
	}
	return dst
}

// AppendCommandString is AppendCommand for string arguments.
func AppendCommandString(dst []byte, args ...string) []byte {
	dst = appendHeader(dst, '*', len(args))
	for _, a := range args {
		dst = appendHeader(dst, '$', len(a))
		dst = append(dst, a...)
		dst = append(dst, '\r', '\n')
	}
	return dst
}

// AppendArrayHeader appends "*n\r\n", for a command whose arguments follow
// as bulk strings.
func AppendArrayHeader(dst []byte, n int) []byte { return appendHeader(dst, '*', n) }

// AppendBulk appends one bulk string.
func AppendBulk(dst, b []byte) []byte {
	dst = appendHeader(dst, '$', len(b))
	dst = append(dst, b...)
	return append(dst, '\r', '\n')
}

// AppendBulkInt appends an integer as a bulk string.
func AppendBulkInt(dst []byte, n int64) []byte {
	var tmp [20]byte
	return AppendBulk(dst, strconv.AppendInt(tmp[:0], n, 10))
}

func appendHeader(dst []byte, prefix byte, n int) []byte {
	switch { // most arguments and arrays are short: no strconv
	case uint(n) < 10:
		return append(dst, prefix, byte('0'+n), '\r', '\n')
	case uint(n) < 100:
		return append(dst, prefix, byte('0'+n/10), byte('0'+n%10), '\r', '\n')
	}
	dst = append(dst, prefix)
	dst = strconv.AppendInt(dst, int64(n), 10)
	return append(dst, '\r', '\n')
}
