package state

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisTarget is what a state.url names; exactly one field is set.
type redisTarget struct {
	single   *redis.Options         // redis://, rediss://
	failover *redis.FailoverOptions // redis-sentinel://
	cluster  *redis.ClusterOptions  // redis-cluster://
	// retriesSet: the URL chose max_retries itself (only redis:// URLs can).
	retriesSet bool
}

// parseRedisURL reads the four URL forms of state.url. redis:// and rediss:// are
// go-redis's own (with all its query options); the sentinel and cluster forms list
// several hosts separated by commas, which go-redis's URL parsers do not accept:
//
//	redis-sentinel://[[user]:password@]host:port[,host:port...]/master-name[?db=N]
//	redis-cluster://[[user]:password@]host:port[,host:port...]
//
// Errors never contain the password.
func parseRedisURL(raw string) (redisTarget, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return redisTarget{}, errors.New("state: state.url: want redis://, rediss://, redis-sentinel:// or redis-cluster://")
	}
	switch scheme {
	case "redis", "rediss":
		o, err := redis.ParseURL(raw)
		if err != nil {
			return redisTarget{}, scrub(raw, err)
		}
		u, _ := url.Parse(raw) // ParseURL succeeded, so url.Parse does too
		return redisTarget{single: o, retriesSet: u.Query().Has("max_retries")}, nil
	case "redis-sentinel":
		user, pass, hosts, path, query, err := splitMultiHost(rest, "26379")
		if err != nil {
			return redisTarget{}, scrub(raw, err)
		}
		master := strings.Trim(path, "/")
		if master == "" || strings.Contains(master, "/") {
			return redisTarget{}, fmt.Errorf("state: state.url %s: want /master-name after the sentinel addresses", redact(raw))
		}
		o := &redis.FailoverOptions{MasterName: master, SentinelAddrs: hosts, Username: user, Password: pass}
		for k, vs := range query {
			if k != "db" || len(vs) != 1 {
				return redisTarget{}, fmt.Errorf("state: state.url %s: unknown option %q (only db)", redact(raw), k)
			}
			if o.DB, err = strconv.Atoi(vs[0]); err != nil || o.DB < 0 {
				return redisTarget{}, fmt.Errorf("state: state.url %s: db %q is not a database number", redact(raw), vs[0])
			}
		}
		return redisTarget{failover: o}, nil
	case "redis-cluster":
		user, pass, hosts, path, query, err := splitMultiHost(rest, "6379")
		if err != nil {
			return redisTarget{}, scrub(raw, err)
		}
		// Redis Cluster has only database 0.
		if strings.Trim(path, "/") != "" || len(query) > 0 {
			return redisTarget{}, fmt.Errorf("state: state.url %s: a cluster URL takes no path or options", redact(raw))
		}
		return redisTarget{cluster: &redis.ClusterOptions{Addrs: hosts, Username: user, Password: pass}}, nil
	}
	return redisTarget{}, fmt.Errorf("state: state.url: unknown scheme %q: want redis://, rediss://, redis-sentinel:// or redis-cluster://", scheme)
}

// splitMultiHost splits what follows "scheme://" in a multi-host URL. A missing port
// is defPort.
func splitMultiHost(rest, defPort string) (user, pass string, hosts []string, path string, query url.Values, err error) {
	// The password may hold any character; the hosts, path and query of these forms
	// hold no '@', so the last '@' ends the user info.
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		info := rest[:at]
		rest = rest[at+1:]
		u, p, _ := strings.Cut(info, ":")
		if user, err = url.PathUnescape(u); err != nil {
			return "", "", nil, "", nil, errors.New("bad escape in user name")
		}
		if pass, err = url.PathUnescape(p); err != nil {
			return "", "", nil, "", nil, errors.New("bad escape in password")
		}
	}
	rest, rawQuery, _ := strings.Cut(rest, "?")
	hostList := rest
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		hostList, path = rest[:i], rest[i:]
	}
	if path, err = url.PathUnescape(path); err != nil {
		return "", "", nil, "", nil, errors.New("bad escape in path")
	}
	for h := range strings.SplitSeq(hostList, ",") {
		if h == "" {
			return "", "", nil, "", nil, errors.New("empty host")
		}
		host, port, err := net.SplitHostPort(h)
		if err != nil { // no port: take the default
			host, port = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]"), defPort
		}
		if host == "" || strings.ContainsAny(host, "[]/ ") {
			return "", "", nil, "", nil, fmt.Errorf("bad host %q", h)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "", "", nil, "", nil, fmt.Errorf("bad port in %q", h)
		}
		hosts = append(hosts, net.JoinHostPort(host, port))
	}
	if query, err = url.ParseQuery(rawQuery); err != nil {
		return "", "", nil, "", nil, errors.New("bad query")
	}
	return user, pass, hosts, path, query, nil
}

// client builds the go-redis client. Every network wait is bounded by timeout, and
// commands are not retried: a script whose reply was lost may have run, and running
// it again would count a request or a spend twice. A failed operation surfaces as
// ErrUnavailable and the caller's fail_open decides.
func (t redisTarget) client(timeout time.Duration) redis.UniversalClient {
	retries := func(n, dials *int) {
		if !t.retriesSet {
			*n = -1 // go-redis: -1 disables retries, 0 means its default of 3
		}
		// One dial per attempt: a refused connection should fail at once rather
		// than spend the operation's timeout on go-redis's 5 dial retries.
		if *dials == 0 {
			*dials = 1
		}
	}
	switch {
	case t.failover != nil:
		o := t.failover
		orTimeout(&o.DialTimeout, timeout)
		orTimeout(&o.ReadTimeout, timeout)
		orTimeout(&o.WriteTimeout, timeout)
		orTimeout(&o.PoolTimeout, timeout)
		o.ContextTimeoutEnabled = true
		retries(&o.MaxRetries, &o.DialerRetries)
		return redis.NewFailoverClient(o)
	case t.cluster != nil:
		o := t.cluster
		orTimeout(&o.DialTimeout, timeout)
		orTimeout(&o.ReadTimeout, timeout)
		orTimeout(&o.WriteTimeout, timeout)
		orTimeout(&o.PoolTimeout, timeout)
		o.ContextTimeoutEnabled = true
		retries(&o.MaxRetries, &o.DialerRetries)
		return redis.NewClusterClient(o)
	default:
		o := t.single
		orTimeout(&o.DialTimeout, timeout)
		orTimeout(&o.ReadTimeout, timeout)
		orTimeout(&o.WriteTimeout, timeout)
		orTimeout(&o.PoolTimeout, timeout)
		o.ContextTimeoutEnabled = true
		retries(&o.MaxRetries, &o.DialerRetries)
		return redis.NewClient(o)
	}
}

func (t redisTarget) password() string {
	switch {
	case t.failover != nil:
		return t.failover.Password
	case t.cluster != nil:
		return t.cluster.Password
	}
	return t.single.Password
}

// orTimeout sets an option the URL left unset (0).
func orTimeout(d *time.Duration, v time.Duration) {
	if *d == 0 {
		*d = v
	}
}

// redact returns raw with the password of its user info replaced, for logs and
// errors. It works on strings that url.Parse rejects, too.
func redact(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return raw
	}
	at := strings.LastIndexByte(rest, '@')
	if at < 0 {
		return raw
	}
	user, _, hasPass := strings.Cut(rest[:at], ":")
	if !hasPass {
		// "scheme://secret@host": some clients read a lone user info as the password.
		return scheme + "://" + redactedText + "@" + rest[at+1:]
	}
	return scheme + "://" + user + ":" + redactedText + "@" + rest[at+1:]
}

const redactedText = "xxxxx"

// scrub rewrites a parse error of raw so that it names the URL only redacted and
// contains no password, raw or percent-decoded.
func scrub(raw string, err error) error {
	msg := strings.ReplaceAll(err.Error(), raw, redact(raw))
	if _, rest, ok := strings.Cut(raw, "://"); ok {
		if at := strings.LastIndexByte(rest, '@'); at >= 0 {
			info := rest[:at]
			_, pass, hasPass := strings.Cut(info, ":")
			if !hasPass {
				pass = info
			}
			for _, s := range []string{pass, unescaped(pass)} {
				if s != "" {
					msg = strings.ReplaceAll(msg, s, redactedText)
				}
			}
		}
	}
	return fmt.Errorf("state: state.url %s: %s", redact(raw), msg)
}

func unescaped(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}
