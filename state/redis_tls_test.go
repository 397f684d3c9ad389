package state

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchyard/switchyard/config"
	"github.com/switchyard/switchyard/internal/testservers"
)

// tlsFiles writes a self-signed certificate for 127.0.0.1 and its key.
func tlsFiles(t *testing.T, dir string) (cert, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startTLSRedis runs redis-server with the configuration conf (TLS only: no plain
// port) and waits until it answers PING over TLS on port.
func startTLSRedis(t *testing.T, dir, name, conf string, port int, sentinel bool) {
	t.Helper()
	file := filepath.Join(dir, name+".conf")
	if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{file}
	if sentinel {
		args = append(args, "--sentinel")
	}
	cmd := exec.Command("redis-server", args...)
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(port), MaxRetries: -1,
		TLSConfig: &tls.Config{InsecureSkipVerify: true}}) // only to wait for it
	defer c.Close()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c.Ping(context.Background()).Err() == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer over TLS on %d", name, port)
		}
	}
}

func tlsConf(dir, cert, key string, port int) string {
	return fmt.Sprintf("port 0\ntls-port %d\nbind 127.0.0.1\ntls-cert-file %s\ntls-key-file %s\ntls-ca-cert-file %s\n"+
		"tls-auth-clients no\nsave \"\"\nappendonly no\ndir %s\nloglevel warning\n", port, cert, key, cert, dir)
}

// A Sentinel-managed Redis reachable only over TLS (sentinel and master alike) serves
// a rediss-sentinel:// URL.
func TestRedisSentinelOverTLS(t *testing.T) {
	testservers.RequireRedis(t)
	dir := t.TempDir()
	cert, key := tlsFiles(t, dir)
	master, sentinel := freePort(t), freePort(t)
	startTLSRedis(t, dir, "master", tlsConf(dir, cert, key, master), master, false)
	startTLSRedis(t, dir, "sentinel", tlsConf(dir, cert, key, sentinel)+
		fmt.Sprintf("tls-replication yes\nsentinel monitor mymaster 127.0.0.1 %d 1\n", master), sentinel, true)

	s, err := Open(config.State{Driver: "redis", Timeout: 2 * time.Second,
		URL: config.Secret(fmt.Sprintf("rediss-sentinel://127.0.0.1:%d/mymaster?skip_verify=true", sentinel))}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// The sentinel may need a moment to learn its master.
	var a Admission
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if a, err = s.Admit(context.Background(), "rpm:tls", 10, 1, time.Minute); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil || !a.Allowed || a.Count != 1 {
		t.Fatalf("admit through the TLS sentinel: %+v %v", a, err)
	}
}

// A Redis Cluster reachable only over TLS serves a rediss-cluster:// URL, with the
// node's certificate verified (go-redis's cluster URL has no skip_verify): the check
// runs in a child process whose system roots (SSL_CERT_FILE) trust the test's
// certificate, since Go reads them once per process.
func TestRedisClusterOverTLS(t *testing.T) {
	if raw := os.Getenv("SWITCHYARD_TEST_TLS_CLUSTER_URL"); raw != "" {
		s, err := Open(config.State{Driver: "redis", URL: config.Secret(raw), Timeout: 2 * time.Second}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		a, err := s.Admit(context.Background(), "rpm:tls", 10, 1, time.Minute)
		if err != nil || !a.Allowed || a.Count != 1 {
			t.Fatalf("admit through the TLS cluster: %+v %v", a, err)
		}
		return
	}
	testservers.RequireRedis(t)
	dir := t.TempDir()
	cert, key := tlsFiles(t, dir)
	port := freePort(t)
	startTLSRedis(t, dir, "node", tlsConf(dir, cert, key, port)+"cluster-enabled yes\ntls-cluster yes\n"+
		"cluster-config-file nodes.conf\n", port, false)
	admin := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(port), TLSConfig: &tls.Config{InsecureSkipVerify: true}})
	defer admin.Close()
	ctx := context.Background()
	if err := admin.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", 0, 16383).Err(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		info, _ := admin.ClusterInfo(ctx).Result()
		if strings.Contains(info, "cluster_state:ok") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cluster did not come up: %s", info)
		}
	}
	child := exec.Command(os.Args[0], "-test.run=^TestRedisClusterOverTLS$", "-test.count=1", "-test.v")
	child.Env = append(os.Environ(), "SSL_CERT_FILE="+cert,
		fmt.Sprintf("SWITCHYARD_TEST_TLS_CLUSTER_URL=rediss-cluster://127.0.0.1:%d", port))
	if out, err := child.CombinedOutput(); err != nil || !strings.Contains(string(out), "--- PASS: TestRedisClusterOverTLS") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}
