package state

import (
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseRedisURLForms(t *testing.T) {
	t.Run("redis", func(t *testing.T) {
		tg, err := parseRedisURL("redis://:pa%40ss@cache.internal:6380/2")
		if err != nil {
			t.Fatal(err)
		}
		o := tg.single
		if o == nil || o.Addr != "cache.internal:6380" || o.DB != 2 || o.Password != "pa@ss" || o.TLSConfig != nil {
			t.Fatalf("%+v", o)
		}
	})
	t.Run("rediss is TLS", func(t *testing.T) {
		tg, err := parseRedisURL("rediss://user:pw@cache.internal")
		if err != nil {
			t.Fatal(err)
		}
		if o := tg.single; o.TLSConfig == nil || o.TLSConfig.ServerName != "cache.internal" || o.Addr != "cache.internal:6379" || o.Username != "user" {
			t.Fatalf("%+v", o)
		}
	})
	t.Run("sentinel", func(t *testing.T) {
		tg, err := parseRedisURL("redis-sentinel://:s3cret@s1.internal:26379,s2.internal:26380,[::1]:26381/mymaster?db=3")
		if err != nil {
			t.Fatal(err)
		}
		o := tg.failover
		if o == nil || o.MasterName != "mymaster" || o.DB != 3 || o.Password != "s3cret" || o.SentinelPassword != "" ||
			o.TLSConfig != nil || !slices.Equal(o.SentinelAddrs, []string{"s1.internal:26379", "s2.internal:26380", "[::1]:26381"}) {
			t.Fatalf("%+v", o)
		}
	})
	t.Run("sentinel default port, no password", func(t *testing.T) {
		tg, err := parseRedisURL("redis-sentinel://sentinel/main")
		if err != nil {
			t.Fatal(err)
		}
		if o := tg.failover; !slices.Equal(o.SentinelAddrs, []string{"sentinel:26379"}) || o.MasterName != "main" || o.Password != "" || o.DB != 0 {
			t.Fatalf("%+v", o)
		}
	})
	t.Run("sentinel over TLS, with sentinel credentials and go-redis options", func(t *testing.T) {
		tg, err := parseRedisURL("rediss-sentinel://app:m%40ster@s1.internal,s2.internal:26380/main" +
			"?sentinel_username=watch&sentinel_password=s%26ntinel&dial_timeout=3s&skip_verify=true")
		if err != nil {
			t.Fatal(err)
		}
		o := tg.failover
		if o.TLSConfig == nil || o.TLSConfig.ServerName != "s1.internal" || !o.TLSConfig.InsecureSkipVerify ||
			o.Username != "app" || o.Password != "m@ster" || o.SentinelUsername != "watch" || o.SentinelPassword != "s&ntinel" ||
			o.DialTimeout != 3*time.Second || o.MasterName != "main" ||
			!slices.Equal(o.SentinelAddrs, []string{"s1.internal:26379", "s2.internal:26380"}) {
			t.Fatalf("%+v", o)
		}
	})
	t.Run("sentinel in go-redis's own addr= form", func(t *testing.T) {
		tg, err := parseRedisURL("redis-sentinel://s1:26379/main?addr=s2:26379&password=pw")
		if err != nil {
			t.Fatal(err)
		}
		if o := tg.failover; o.Password != "pw" || !slices.Equal(o.SentinelAddrs, []string{"s1:26379", "s2:26379"}) {
			t.Fatalf("%+v", o)
		}
	})
	t.Run("cluster", func(t *testing.T) {
		tg, err := parseRedisURL("redis-cluster://app:p%2Fw@c1:7000,c2:7001,c3")
		if err != nil {
			t.Fatal(err)
		}
		o := tg.cluster
		if o == nil || o.Username != "app" || o.Password != "p/w" || o.TLSConfig != nil ||
			!slices.Equal(o.Addrs, []string{"c1:7000", "c2:7001", "c3:6379"}) {
			t.Fatalf("%+v", o)
		}
	})
	t.Run("passwords as written, reserved characters and all", func(t *testing.T) {
		tg, err := parseRedisURL("redis-cluster://app:p/w?x#y@c1:7000")
		if err != nil {
			t.Fatal(err)
		}
		if o := tg.cluster; o.Password != "p/w?x#y" || !slices.Equal(o.Addrs, []string{"c1:7000"}) {
			t.Fatalf("%+v", o)
		}
		tg, err = parseRedisURL("redis-sentinel://:a@b/c@s1/main")
		if err != nil {
			t.Fatal(err)
		}
		if o := tg.failover; o.Password != "a@b/c" || o.MasterName != "main" {
			t.Fatalf("%+v", o)
		}
	})
	t.Run("cluster over TLS with options", func(t *testing.T) {
		tg, err := parseRedisURL("rediss-cluster://:pw@c1.internal:7000,c2.internal:7001?read_only=true&max_retries=1")
		if err != nil {
			t.Fatal(err)
		}
		o := tg.cluster
		if o.TLSConfig == nil || o.TLSConfig.ServerName != "c1.internal" || !o.ReadOnly || o.MaxRetries != 1 || !tg.retriesSet ||
			!slices.Equal(o.Addrs, []string{"c1.internal:7000", "c2.internal:7001"}) {
			t.Fatalf("%+v", o)
		}
	})
}

func TestParseRedisURLRejects(t *testing.T) {
	for _, raw := range []string{
		"cache.internal:6379",                           // no scheme
		"memcached://cache:11211",                       // unknown scheme
		"redis://:pw@cache:6379/x",                      // db not a number
		"redis://:pw@cache:6379?bogus=1",                // go-redis refuses unknown options
		"redis-sentinel://:pw@s1:26379",                 // no master name
		"redis-sentinel://:pw@s1:26379/a/b",             // a path, not a name
		"redis-sentinel://:pw@s1:26379/m?db=x",          // db not a number
		"redis-sentinel://:pw@s1:26379/m?tls=true",      // unknown option
		"redis-sentinel://:pw@s1:26379/m?password=pw2",  // the master's password twice
		"redis-sentinel://s1:26379/m?master_name=other", // the master named twice
		"redis-sentinel://:pw@s1:26379,,s2/m",           // empty host
		"redis-sentinel://:pw@s1:99999/m",               // port out of range
		"redis-cluster://:pw@c1:7000/1",                 // a cluster has db 0 only
		"redis-cluster://:pw@c1:7000?db=1",
		"redis-cluster://:pw@c1:x",
		"rediss-cluster://:pw@c1:7000?skip_verify=true", // go-redis's cluster parser has no such option
	} {
		if _, err := parseRedisURL(raw); err == nil {
			t.Errorf("%s: accepted", raw)
		}
	}
}

func TestParseErrorsNeverShowThePassword(t *testing.T) {
	for _, raw := range []string{
		"redis://:hunter2@cache:6379/x",
		"redis://:hunter2@cache:port",         // url.Parse's own error quotes the URL
		"redis://user:hunter2@ca che:6379",    // a space in the host
		"redis://:hunter%32@cache:6379/x",     // escaped: "hunter2" once decoded
		"rediss://hunter2@cache:6379?bogus=1", // a lone user info may be the password
		"redis-sentinel://:hunter2@s1:26379",
		"redis-sentinel://:hunter2@s1:99999/m",
		"redis-sentinel://:hunter%zz2@s1/m", // bad escape
		"redis-sentinel://s1/m?sentinel_password=hunter2&bogus=1",
		"rediss-sentinel://s1/m?password=hunter%32&db=x",
		"redis-cluster://:hunter2@c1:7000/1",
		"redis-cluster://:hunter2@c1:x",
		"rediss-cluster://:hunter2@c1:7000?bogus=1",
	} {
		_, err := parseRedisURL(raw)
		if err == nil {
			t.Errorf("%s: accepted", raw)
			continue
		}
		if strings.Contains(err.Error(), "hunter") {
			t.Errorf("%s: password in error %q", raw, err)
		}
	}
}

func TestRedact(t *testing.T) {
	for raw, want := range map[string]string{
		"redis://:pw@host:6379/0":                           "redis://:xxxxx@host:6379/0",
		"rediss://user:p@ss:w@rd@host":                      "rediss://user:xxxxx@host",
		"redis://secret@host":                               "redis://xxxxx@host",
		"redis://host:6379":                                 "redis://host:6379",
		"redis-sentinel://:pw@s1:1,s2:2/master":             "redis-sentinel://:xxxxx@s1:1,s2:2/master",
		"redis-sentinel://s1/m?db=1&sentinel_password=pw":   "redis-sentinel://s1/m?db=1&sentinel_password=xxxxx",
		"rediss-sentinel://s1/m?password=pw&dial_timeout=1": "rediss-sentinel://s1/m?password=xxxxx&dial_timeout=1",
		"not a url": "not a url",
	} {
		if got := redact(raw); got != want {
			t.Errorf("redact(%q) = %q, want %q", raw, got, want)
		}
	}
}

func TestRedisClientOptions(t *testing.T) {
	tg, err := parseRedisURL("redis://cache:6379")
	if err != nil {
		t.Fatal(err)
	}
	c := tg.client(300 * time.Millisecond)
	defer c.Close()
	o := tg.single
	// No retries: a script whose reply was lost may have run; running it again would
	// count a request or a spend twice.
	if o.MaxRetries != -1 || o.DialerRetries != 1 || !o.ContextTimeoutEnabled {
		t.Fatalf("retries %d, dial retries %d, context timeouts %v", o.MaxRetries, o.DialerRetries, o.ContextTimeoutEnabled)
	}
	if o.DialTimeout != 300*time.Millisecond || o.ReadTimeout != 300*time.Millisecond || o.PoolTimeout != 300*time.Millisecond {
		t.Fatalf("timeouts %s %s %s", o.DialTimeout, o.ReadTimeout, o.PoolTimeout)
	}

	// What the URL sets explicitly wins.
	tg, err = parseRedisURL("redis://cache:6379?max_retries=2&read_timeout=1s")
	if err != nil {
		t.Fatal(err)
	}
	c = tg.client(300 * time.Millisecond)
	defer c.Close()
	if tg.single.MaxRetries != 2 || tg.single.ReadTimeout != time.Second {
		t.Fatalf("retries %d, read timeout %s", tg.single.MaxRetries, tg.single.ReadTimeout)
	}

	for _, raw := range []string{"redis-sentinel://s1:26379/m", "redis-cluster://c1:7000"} {
		tg, err := parseRedisURL(raw)
		if err != nil {
			t.Fatal(err)
		}
		c := tg.client(300 * time.Millisecond)
		defer c.Close()
		switch {
		case tg.failover != nil:
			if o := tg.failover; o.MaxRetries != -1 || o.DialerRetries != 1 || o.DialTimeout != 300*time.Millisecond {
				t.Fatalf("sentinel: %+v", o)
			}
		case tg.cluster != nil:
			if o := tg.cluster; o.MaxRetries != -1 || o.DialerRetries != 1 || o.DialTimeout != 300*time.Millisecond {
				t.Fatalf("cluster: %+v", o)
			}
		}
	}
}

func TestUnreachableClassification(t *testing.T) {
	if unreachable(errors.New("WRONGTYPE Operation against a key holding the wrong kind of value")) {
		t.Fatal("a command error is not unavailability")
	}
}

// FuzzParseRedisURL: any state.url parses or fails without a panic, and a failure
// never shows the password, as written or decoded.
func FuzzParseRedisURL(f *testing.F) {
	for _, s := range []string{"redis://", "rediss://", "redis-sentinel://", "rediss-sentinel://", "redis-cluster://", "rediss-cluster://"} {
		f.Add(s, "pw", "host:6379/0", "db=1")
	}
	f.Add("redis-sentinel://", "p%zz", "s1,s2:1/m", "sentinel_password=x")
	f.Add("redis-cluster://", "p@ss", "[::1]:7000,c2", "addr=c3:1")
	f.Fuzz(func(t *testing.T, scheme, pass, hosts, query string) {
		const mark = "Zq9"
		if strings.Contains(scheme+hosts+query, mark) {
			return
		}
		secret := mark + pass + mark
		raw := scheme + ":" + secret + "@" + hosts + "?" + query
		_, err := parseRedisURL(raw)
		if err == nil {
			return
		}
		for _, s := range []string{secret, unescapedOrSelf(secret)} {
			if strings.Contains(err.Error(), s) {
				t.Fatalf("%q: error shows the password: %v", raw, err)
			}
		}
	})
}

func unescapedOrSelf(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}
