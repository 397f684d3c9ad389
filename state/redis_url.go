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

	"github.com/switchyard/switchyard/config"
)

// redisTarget is what a state.url names; exactly one field is set.
type redisTarget struct {
	single   *redis.Options         // redis://, rediss://
	failover *redis.FailoverOptions // redis-sentinel://, rediss-sentinel://
	cluster  *redis.ClusterOptions  // redis-cluster://, rediss-cluster://
	// retriesSet: the URL chose max_retries itself.
	retriesSet bool
}

// parseRedisURL reads state.url. Every form is parsed by go-redis's own parser, so
// that go-redis's query options (dial_timeout, pool_size, skip_verify, ...) and TLS
// work alike for all of them:
//
//	redis://[[user]:password@]host[:port][/db][?options]      redis.ParseURL
//	rediss://...                                              the same over TLS
//	redis-sentinel://[[user]:password@]host[:port][,host[:port]...]/master-name[?options]
//	rediss-sentinel://...                                     redis.ParseFailoverURL, TLS
//	redis-cluster://[[user]:password@]host[:port][,host[:port]...][?options]
//	rediss-cluster://...                                      redis.ParseClusterURL, TLS
//
// The sentinel and cluster forms list several hosts separated by commas, which
// go-redis writes as addr= options (also accepted); the hosts are rewritten so before
// go-redis parses the URL. In the sentinel form the path names the master, the user
// info holds the master's credentials (as it always did here; go-redis reads the user
// info as the sentinels'), db=N selects the database, and sentinel_username= and
// sentinel_password= authenticate to the sentinels. A missing port is 26379 for a
// sentinel and 6379 otherwise. A cluster has database 0 only: no path.
//
// Errors never contain a password.
func parseRedisURL(raw string) (redisTarget, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return redisTarget{}, errors.New("state: state.url: want redis://, rediss://, redis-sentinel:// or redis-cluster:// (rediss-... for TLS)")
	}
	var t redisTarget
	var err error
	switch scheme {
	case "redis", "rediss":
		t.single, err = redis.ParseURL(raw)
	case "redis-sentinel", "rediss-sentinel":
		var u string
		if u, err = sentinelURL(strings.TrimSuffix(scheme, "-sentinel"), rest); err == nil {
			t.failover, err = redis.ParseFailoverURL(u)
		}
	case "redis-cluster", "rediss-cluster":
		var u string
		if u, err = clusterURL(strings.TrimSuffix(scheme, "-cluster"), rest); err == nil {
			t.cluster, err = redis.ParseClusterURL(u)
		}
	default:
		// Named only when it is a scheme: text with a ':' or '@' before "://" may be
		// a password the URL lost its scheme in front of.
		named := ""
		if validScheme(scheme) {
			named = fmt.Sprintf(" %q", scheme)
		}
		return redisTarget{}, fmt.Errorf("state: state.url: unknown scheme%s: want redis://, rediss://, redis-sentinel:// or redis-cluster:// (rediss-... for TLS)", named)
	}
	if err != nil {
		return redisTarget{}, scrub(raw, err)
	}
	_, query, _ := strings.Cut(rest, "?")
	q, _ := url.ParseQuery(query) // go-redis parsed it already
	t.retriesSet = q.Has("max_retries")
	return t, nil
}

// multiHost splits what follows "scheme://" in a sentinel or cluster URL: the user
// info, the hosts (each with a port, defPort when it has none), the path and the
// query, still escaped.
func multiHost(rest, defPort string) (userinfo string, hosts []string, path, query string, err error) {
	// A password may hold '@' unescaped; the hosts, path and query hold none, so the
	// last '@' ends the user info.
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		userinfo, rest = rest[:at], rest[at+1:]
	}
	rest, query, _ = strings.Cut(rest, "?")
	hostList := rest
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		hostList, path = rest[:i], rest[i:]
	}
	for h := range strings.SplitSeq(hostList, ",") {
		host, port, err := net.SplitHostPort(h)
		if err != nil { // no port: take the default
			host, port = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]"), defPort
		}
		if host == "" || strings.ContainsAny(host, "[]/ @") {
			return "", nil, "", "", fmt.Errorf("bad host %q", h)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "", nil, "", "", fmt.Errorf("bad port in %q", h)
		}
		hosts = append(hosts, net.JoinHostPort(host, port))
	}
	return userinfo, hosts, path, query, nil
}

// goRedisURL builds scheme://userinfo@host?query with the hosts after the first as
// addr= options, as go-redis's multi-host parsers read them. The user info is
// unescaped and escaped again, so that a password holding '/', '?' or '#' as written
// (as this form always accepted) reaches go-redis intact.
func goRedisURL(scheme, userinfo string, hosts []string, query string) (*url.URL, url.Values, error) {
	u := &url.URL{Scheme: scheme, Host: hosts[0]}
	if userinfo != "" {
		user, pass, hasPass := strings.Cut(userinfo, ":")
		var err error
		if user, err = url.PathUnescape(user); err != nil {
			return nil, nil, errors.New("bad escape in user name")
		}
		if pass, err = url.PathUnescape(pass); err != nil {
			return nil, nil, errors.New("bad escape in password")
		}
		u.User = url.User(user)
		if hasPass {
			u.User = url.UserPassword(user, pass)
		}
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return nil, nil, errors.New("bad query")
	}
	for _, h := range hosts[1:] {
		q.Add("addr", h)
	}
	return u, q, nil
}

func sentinelURL(scheme, rest string) (string, error) {
	userinfo, hosts, path, query, err := multiHost(rest, "26379")
	if err != nil {
		return "", err
	}
	u, q, err := goRedisURL(scheme, userinfo, hosts, query)
	if err != nil {
		return "", err
	}
	master, err := url.PathUnescape(strings.Trim(path, "/"))
	if err != nil || master == "" || strings.Contains(master, "/") {
		return "", errors.New("want /master-name after the sentinel addresses")
	}
	if q.Has("master_name") {
		return "", errors.New("the master is named by the path, not master_name=")
	}
	q.Set("master_name", master)
	// The user info is the master's; go-redis reads it as the sentinels', whose own
	// credentials come from sentinel_username= and sentinel_password= here.
	if u.User != nil {
		if q.Has("username") || q.Has("password") {
			return "", errors.New("give the master's credentials in the user info or as username=/password=, not both")
		}
		q.Set("username", u.User.Username())
		if p, ok := u.User.Password(); ok {
			q.Set("password", p)
		}
	}
	u.User = nil
	if user, pass := q.Get("sentinel_username"), q.Get("sentinel_password"); user != "" || pass != "" {
		u.User = url.UserPassword(user, pass)
	}
	q.Del("sentinel_username")
	q.Del("sentinel_password")
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func clusterURL(scheme, rest string) (string, error) {
	userinfo, hosts, path, query, err := multiHost(rest, "6379")
	if err != nil {
		return "", err
	}
	// go-redis ignores a cluster URL's path; a database number there would be lost
	// in silence, and Redis Cluster has database 0 only.
	if strings.Trim(path, "/") != "" {
		return "", errors.New("a cluster URL takes no path (Redis Cluster has database 0 only)")
	}
	u, q, err := goRedisURL(scheme, userinfo, hosts, query)
	if err != nil {
		return "", err
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
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

// passwords are the credentials the target holds, for the Redis logger to mask.
func (t redisTarget) passwords() []string {
	switch {
	case t.failover != nil:
		return []string{t.failover.Password, t.failover.SentinelPassword}
	case t.cluster != nil:
		return []string{t.cluster.Password}
	}
	return []string{t.single.Password}
}

// orTimeout sets an option the URL left unset (0).
func orTimeout(d *time.Duration, v time.Duration) {
	if *d == 0 {
		*d = v
	}
}

// validScheme reports whether s has a URL scheme's syntax (RFC 3986, 3.1).
func validScheme(s string) bool {
	for i := range len(s) {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return s != ""
}

// redact returns raw fit for logs and errors.
func redact(raw string) string { return config.RedactURL(raw) }

// scrub rewrites a parse error of raw so that it names the URL only redacted and
// contains none of its credentials, raw, decoded or quoted.
func scrub(raw string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // the reason alone: url.Error quotes the whole URL
	}
	msg := err.Error()
	for _, s := range append(config.URLSecrets(raw), raw) {
		if s == "" {
			continue
		}
		quoted := strconv.Quote(s)
		msg = strings.ReplaceAll(msg, quoted[1:len(quoted)-1], config.RedactedURLPart)
		msg = strings.ReplaceAll(msg, s, config.RedactedURLPart)
	}
	return fmt.Errorf("state: state.url %s: %s", redact(raw), msg)
}

// CheckURL reports what is wrong with a state.url, as opening the store would, without
// connecting: for `switchyard validate`. The error never contains a password.
func CheckURL(raw string) error {
	_, err := parseRedisURL(raw)
	return err
}
