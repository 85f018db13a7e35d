package test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/replicant/replicant/test/redistest"
)

// TestSyncOverTLS syncs from a rediss:// source to a rediss:// target, both
// verified against a CA made for the test.
func TestSyncOverTLS(t *testing.T) {
	dir := t.TempDir()
	ca, cert, key := writeTestPKI(t, dir)
	tlsArgs := func(port int) []string {
		return []string{"--tls-port", strconv.Itoa(port), "--tls-cert-file", cert, "--tls-key-file", key,
			"--tls-ca-cert-file", ca, "--tls-auth-clients", "no", "--tls-replication", "yes"}
	}
	srcTLS, dstTLS := freePort(t), freePort(t)
	src := startServer(t, redistest.Options{Args: tlsArgs(srcTLS)})
	dst := startServer(t, redistest.Options{Args: tlsArgs(dstTLS)})
	ctx := context.Background()
	if _, err := redistest.Fill(ctx, src, redistest.FillOptions{Seed: 8, DBs: 2, KeysPerType: 5}); err != nil {
		t.Fatal(err)
	}
	r := startReplicant(t, "sync", "--tls-ca", ca,
		"--source", "rediss://127.0.0.1:"+strconv.Itoa(srcTLS),
		"--target", "rediss://127.0.0.1:"+strconv.Itoa(dstTLS))
	assertEqual(t, src, dst, 30*time.Second)
	if _, err := redistest.LiveWrites(ctx, src, redistest.LiveOptions{Seed: 9, Ops: 2000, DBs: 2}); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, src, dst, 30*time.Second)
	if code := r.stop(t); code != 0 {
		t.Fatalf("exit status %d", code)
	}
	assertEqualAfterStop(t, src, dst, 0)
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// writeTestPKI writes a CA and a server certificate for 127.0.0.1 and
// returns the paths of the CA, the certificate and its key.
func writeTestPKI(t *testing.T, dir string) (caPath, certPath, keyPath string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "replicant test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	srvKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	caCert, _ := x509.ParseCertificate(caDER)
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(srvKey)
	caPath, certPath, keyPath = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writePEM(t, caPath, "CERTIFICATE", caDER)
	writePEM(t, certPath, "CERTIFICATE", srvDER)
	writePEM(t, keyPath, "EC PRIVATE KEY", keyDER)
	return caPath, certPath, keyPath
}

func writePEM(t *testing.T, path, kind string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
