package twemproxy

import (
	"hash/crc32"
	"hash/fnv"
	"testing"
)

// hashKeys are the keys of hashGolden: every tail length, a long key, and
// keys with bytes from 0x80 (read as signed chars by several of
// nutcracker's functions) and a NUL.
var hashKeys = []string{"a", "ab", "abc", "abcd", "foo:bar", "123456789",
	"The quick brown fox jumps over the lazy dog", "\x80", "\xff\xfe\xfd", "key\x00\x9czz"}

// hashGolden holds the values of this package's functions for hashKeys,
// frozen when TestRouterMatchesNutcracker had shown every function to
// place 10,000 keys (binary ones included) as a real nutcracker 0.5.0
// does. The published values among them are checked again in
// TestHashSpecVectors.
var hashGolden = map[string][10]uint32{
	"one_at_a_time": {0xca2e9442, 0x45e61e58, 0xed131f5b, 0xcd8b6206, 0x586804a2, 0xc66b58c5, 0x519e91f5, 0xc31d4e27, 0x475549b8, 0x4a2ae337},
	"md5":           {0xb975c10c, 0x43f47e18, 0x98500190, 0x4c71fce2, 0xc1e8994e, 0x94e7f925, 0x9d7d109e, 0x7edd398d, 0xc24e6789, 0x8ee23c2f},
	"crc16":         {0x00007c87, 0x007c74ff, 0x7c749dd6, 0x749da836, 0x48302386, 0x869031c3, 0x22a3f0c8, 0x00009188, 0x1e0dc11f, 0x149564c1},
	"crc32":         {0x000068b7, 0x00001e83, 0x00003524, 0x00006d82, 0x000001e2, 0x00004bf4, 0x0000414f, 0x00003fba, 0x000008ea, 0x0000292f},
	"crc32a":        {0xe8b7be43, 0x9e83486d, 0x352441c2, 0xed82cd11, 0x81e2b6cf, 0xcbf43926, 0x414fa339, 0x3fba6cad, 0x08eaaf6d, 0x292f93fc},
	"fnv1_64":       {0x8601b7be, 0xb4eb37b8, 0x6bafadcb, 0xfb844f95, 0x12a9b5a2, 0x2bf916d6, 0x7de37ace, 0x79fe485f, 0x93edf087, 0x95fbff4a},
	"fnv1a_64":      {0x8601ec8c, 0xb545986a, 0x0541574b, 0xee0724dd, 0xb3394ac8, 0x23c6cdfc, 0xe7e47110, 0x79fdec5f, 0x8f0e92d7, 0xa24265e4},
	"fnv1_32":       {0x050c5d7e, 0x70772d38, 0x439c2f4b, 0xb9de7375, 0xb0715b22, 0x24148816, 0xe9c86c6e, 0xfaf3a29f, 0x914c9107, 0xd1be0fea},
	"fnv1a_32":      {0xe40c292c, 0x4d2505ca, 0x1a47e90b, 0xce3479bd, 0xb7264ca8, 0xbb86b11c, 0x048fff90, 0x04f3b29f, 0xbf6d4517, 0xc756b124},
	"hsieh":         {0x93642e87, 0x5b8c0ec3, 0xe5186b3a, 0x3ab452d8, 0xd615927b, 0xe4fc1670, 0x1c19ee97, 0xd6f4cb32, 0xd989515e, 0x1de4061e},
	"murmur":        {0x4b41757c, 0xe3b54dfb, 0x7b0cc428, 0xef6a86af, 0x94f12def, 0xb7760690, 0x30c79125, 0x90556245, 0xc2e4b7ff, 0x460edf30},
	"jenkins":       {0xe0a38690, 0xc1b5695b, 0x8f415600, 0xd512151a, 0x9a99baf8, 0x19777af6, 0x12b8163c, 0xb16fde48, 0x222bd93e, 0x2b815a9f},
}

func TestHashGolden(t *testing.T) {
	if len(hashGolden) != len(Hashes) {
		t.Fatalf("%d golden rows for %d hashes", len(hashGolden), len(Hashes))
	}
	for _, name := range Hashes {
		f, err := Hash(name)
		if err != nil {
			t.Fatal(err)
		}
		want, ok := hashGolden[name]
		if !ok {
			t.Fatalf("no golden values for %s", name)
		}
		for i, k := range hashKeys {
			if got := f([]byte(k)); got != want[i] {
				t.Errorf("%s(%q) = %#08x, want %#08x", name, k, got, want[i])
			}
		}
	}
}

// TestHashSpecVectors checks the functions that are (or contain) a
// published algorithm against its published values or Go's own
// implementation.
func TestHashSpecVectors(t *testing.T) {
	check := func(name string, f HashFunc, key string, want uint32) {
		t.Helper()
		if got := f([]byte(key)); got != want {
			t.Errorf("%s(%q) = %#08x, want %#08x", name, key, got, want)
		}
	}
	// Jenkins' one-at-a-time, as published with it.
	check("one_at_a_time", hashOneAtATime, "a", 0xca2e9442)
	check("one_at_a_time", hashOneAtATime, "The quick brown fox jumps over the lazy dog", 0x519e91f5)
	// md5: the first word of RFC 1321's MD5("abc") = 900150983cd24fb0...
	check("md5", hashMD5, "abc", 0x98500190)
	// CRC-32/IEEE check value; crc32 keeps its bits 16..30.
	check("crc32a", hashCRC32a, "123456789", 0xcbf43926)
	check("crc32", hashCRC32, "123456789", 0xcbf43926>>16&0x7fff)
	// FNV reference values.
	check("fnv1_32", hashFNV1_32, "a", 0x050c5d7e)
	check("fnv1a_32", hashFNV1a_32, "a", 0xe40c292c)
	check("fnv1_64", hashFNV1_64, "a", 0xaf63bd4c8601b7be&0xffffffff)
	// lookup3.c's own self-test values (hashlittle, initval 0 and 1);
	// nutcracker uses initval 13.
	four := []byte("Four score and seven years ago")
	if got := lookup3(four, 0); got != 0x17770551 {
		t.Errorf("lookup3(four score, 0) = %#08x, want 0x17770551", got)
	}
	if got := lookup3(four, 1); got != 0xcd628161 {
		t.Errorf("lookup3(four score, 1) = %#08x, want 0xcd628161", got)
	}
	check("jenkins", hashJenkins, "", 0xdeadbeef+13)

	// ASCII keys: the standard library agrees with the FNV functions
	// and with crc32a.
	for _, k := range []string{"", "a", "foo:bar", "The quick brown fox jumps over the lazy dog"} {
		h32, h32a, h64 := fnv.New32(), fnv.New32a(), fnv.New64()
		h32.Write([]byte(k))
		h32a.Write([]byte(k))
		h64.Write([]byte(k))
		check("fnv1_32", hashFNV1_32, k, h32.Sum32())
		check("fnv1a_32", hashFNV1a_32, k, h32a.Sum32())
		check("fnv1_64", hashFNV1_64, k, uint32(h64.Sum64()))
		check("crc32a", hashCRC32a, k, crc32.ChecksumIEEE([]byte(k)))
	}
	// A byte from 0x80 is widened as a signed char: not the standard FNV.
	var basis, prime, widened uint32 = 0x811c9dc5, 16777619, 0xffffff80
	check("fnv1a_32", hashFNV1a_32, "\x80", (basis^widened)*prime)
	// crc16's low 16 bits are CRC-16/XMODEM (the check value 0x31c3, which
	// Redis Cluster's slots use too); the bits above are nutcracker's own.
	if got := hashCRC16([]byte("123456789")) & 0xffff; got != 0x31c3 {
		t.Errorf("crc16(123456789)&0xffff = %#04x, want 0x31c3", got)
	}
	check("crc16", hashCRC16, "A", 0x58e5)
}

func TestHashUnknown(t *testing.T) {
	if _, err := Hash("sha1"); err == nil {
		t.Fatal("Hash(sha1) did not fail")
	}
}

func BenchmarkRouterKetama(b *testing.B) {
	r, err := NewRouter(&Pool{Name: "p", Hash: HashFNV1a_64, Distribution: DistKetama, Servers: fakeServers(3)})
	if err != nil {
		b.Fatal(err)
	}
	key := []byte("user:12345678:profile")
	b.ReportAllocs()
	for b.Loop() {
		r.Index(key)
	}
}
