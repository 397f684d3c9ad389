package bench

import (
	"crypto/tls"
	"fmt"
)

// targetSpec names a target and says how to start it.
type targetSpec struct{ name, kind, group string }

// specs are the targets of the run: the loopback group always, the peer unless
// left out, the TLS group when its phase runs.
func (r *run) specs() []targetSpec {
	out := []targetSpec{
		{"direct", kindDirect, groupH1},
		{"floor", kindFloor, groupH1},
		{"switchyard", kindSwitchyard, groupH1},
		{"switchyard-bedrock", kindSwitchyard, groupH1},
	}
	if r.o.Peer != PeerOff {
		out = append(out, targetSpec{"portkey", kindPeer, groupH1})
	}
	if r.o.runs("tls") {
		out = append(out,
			targetSpec{"direct-tls", kindDirect, groupTLS},
			targetSpec{"floor-tls", kindFloor, groupTLS},
			targetSpec{"switchyard-tls", kindSwitchyard, groupTLS},
			targetSpec{"switchyard-bedrock-tls", kindSwitchyard, groupTLS})
	}
	return out
}

// start starts every target. A peer that cannot be installed or run is left out
// with a note, unless it is required.
func (r *run) start() error {
	r.res.Peer = PeerResult{Name: "Portkey AI gateway", Package: portkeyPackage, Version: portkeyVersion, Status: "left out",
		Reason: "-peer=off"}
	for _, s := range r.specs() {
		t, err := r.startTarget(s, nil)
		if err != nil && s.kind == kindPeer && r.o.Peer != PeerRequired {
			r.res.Peer.Status, r.res.Peer.Reason = "not available", err.Error()
			r.note("peer %s@%s not measured: %v", portkeyPackage, portkeyVersion, err)
			continue
		}
		if err != nil {
			r.stopAll()
			if s.kind == kindPeer {
				return fmt.Errorf("the peer is required (-peer=required): %w", err)
			}
			return err
		}
		if s.kind == kindPeer {
			r.res.Peer.Status, r.res.Peer.Reason = "measured", ""
		}
		r.targets = append(r.targets, t)
	}
	return nil
}

// startTarget starts the process of a target, if it has one; counts carry over
// from a previous process of the same target.
func (r *run) startTarget(s targetSpec, counts *tally) (*target, error) {
	upstream, env := r.up.URL(), []string(nil)
	if s.group == groupTLS {
		// Go's crypto/x509 reads the roots from SSL_CERT_FILE on Linux.
		upstream, env = r.up.TLSURL(), []string{"SSL_CERT_FILE=" + r.up.CAFile()}
	}
	var t *target
	switch s.kind {
	case kindDirect:
		t = newTarget(s.name, s.kind, s.group, upstream, nil)
		if s.group == groupTLS {
			t.tr.TLSClientConfig = &tls.Config{RootCAs: r.up.ca.pool}
			t.tr.ForceAttemptHTTP2 = true
		}
		t.models[formatChat], t.models[formatMessages] = "bench-model", "bench-model"
	case kindFloor:
		p, root, err := startFloor(r.bin, r.dir, s.name, upstream, env)
		if err != nil {
			return nil, err
		}
		t = newTarget(s.name, s.kind, s.group, root, p)
		t.models[formatChat], t.models[formatMessages] = "bench-model", "bench-model"
	case kindSwitchyard:
		binary := r.bin.switchyard
		if r.bin.profiled != "" {
			binary, env = r.bin.profiled, append(env, pprofEnv+"=127.0.0.1:0")
		}
		sy, err := startSwitchyard(binary, r.dir, s.name, upstream, env)
		if err != nil {
			return nil, err
		}
		t = newTarget(s.name, s.kind, s.group, sy.api, sy.proc)
		t.admin, t.pprof, t.key = sy.admin, sy.pprofs, benchKey
		t.models[formatChat], t.models[formatMessages] = "bench-openai", "bench-anthropic"
		if s.name == "switchyard-bedrock" || s.name == "switchyard-bedrock-tls" {
			t.models[formatChat], t.models[formatMessages] = "bench-bedrock", "bench-bedrock"
		}
	case kindPeer:
		script, err := installPortkey(r.logf)
		if err != nil {
			return nil, err
		}
		if t, err = startPortkey(script, r.dir, upstream); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("unknown kind of target %q", s.kind)
	}
	for _, format := range []string{formatChat, formatMessages} {
		if t.serves(format) {
			t.agent[format] = newAgentBody(r.docs[format], t.models[format])
		}
	}
	if counts != nil {
		t.counts = counts
	}
	return t, nil
}

// restart replaces a target's process by a fresh one (the idle-stream phase).
func (r *run) restart(t *target) (*target, error) {
	t.proc.stop()
	t.tr.CloseIdleConnections()
	fresh, err := r.startTarget(targetSpec{t.name, t.kind, t.group}, t.counts)
	if err != nil {
		return nil, err
	}
	for i := range r.targets {
		if r.targets[i] == t {
			r.targets[i] = fresh
		}
	}
	return fresh, nil
}
