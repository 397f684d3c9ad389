package deploy

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/switchyard/switchyard/config"
)

// switchyardContainer is the name of Switchyard's container in every pod template.
const switchyardContainer = "switchyard"

// overlaySpec says what an overlay deploys, so that its invariants can be checked.
type overlaySpec struct {
	// sidecar: Switchyard runs beside an application in its pod; otherwise it is the
	// shared service behind a Service.
	sidecar bool
	// secrets is the template (relative to deploy/kubernetes) of the Secret that the
	// pods read their environment from; it must satisfy the configuration's ${VARS}.
	secrets string
}

// overlaySpecs lists every overlay; a new overlay must be added here.
var overlaySpecs = map[string]overlaySpec{
	"sidecar":    {sidecar: true, secrets: "base/sidecar/secret.example.yaml"},
	"shared":     {secrets: "base/shared/secret.example.yaml"},
	"production": {secrets: "base/shared/secret.example.yaml"},
}

// checkOverlay checks one rendered overlay: every pod is hardened; every Switchyard
// container runs a configuration that validates, with probes, mounts, state volume and
// grace period that fit it; the objects around it (Service, autoscaler, disruption
// budget, monitors) select what they should.
func checkOverlay(tr tree, spec overlaySpec, objs []any) []error {
	var errs []error
	secrets, err := secretTemplate(tr, spec.secrets)
	if err != nil {
		return []error{err}
	}
	var deployments []*appsv1.Deployment
	configMaps := map[string]*corev1.ConfigMap{}
	for _, obj := range objs {
		switch o := obj.(type) {
		case *appsv1.Deployment:
			deployments = append(deployments, o)
		case *corev1.ConfigMap:
			configMaps[o.Name] = o
		}
	}
	errs = append(errs, checkNames(objs)...)
	errs = append(errs, checkSelectors(objs, deployments)...)
	if err := checkRedisTemplate(secrets, objs); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", spec.secrets, err))
	}
	found := 0
	for _, d := range deployments {
		where := "Deployment " + d.Name
		pod := &d.Spec.Template.Spec
		for _, err := range checkHardening(pod) {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
		}
		c, isInit := findContainer(pod, switchyardContainer)
		if c == nil {
			continue
		}
		found++
		where += ": container " + c.Name
		cfg, more := checkSwitchyard(pod, c, configMaps, secrets)
		if cfg != nil {
			more = append(more, checkAdminPort(d, c, cfg, objs)...)
		}
		switch {
		case cfg == nil: // no configuration to check the rest against
		case spec.sidecar:
			more = append(more, checkSidecar(d, c, isInit, cfg, objs)...)
		default:
			more = append(more, checkShared(d, c, isInit, cfg, objs)...)
		}
		for _, err := range more {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
		}
	}
	if found == 0 {
		errs = append(errs, errors.New("no Deployment has a container named "+switchyardContainer))
	}
	return errs
}

// checkHardening holds every container of a pod to the "restricted" Pod Security
// Standard, plus a read-only root filesystem, resources and a pinned image.
func checkHardening(pod *corev1.PodSpec) []error {
	var errs []error
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		errs = append(errs, errors.New("automountServiceAccountToken must be false (no container calls the Kubernetes API)"))
	}
	psc := pod.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	for _, c := range slices.Concat(pod.InitContainers, pod.Containers) {
		fail := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("container %s: "+format, append([]any{c.Name}, args...)...))
		}
		sc := c.SecurityContext
		if sc == nil {
			fail("no securityContext")
			continue
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			fail("allowPrivilegeEscalation must be false")
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			fail("readOnlyRootFilesystem must be true")
		}
		if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
			fail("capabilities must drop ALL")
		}
		nonRoot := psc.RunAsNonRoot
		if sc.RunAsNonRoot != nil {
			nonRoot = sc.RunAsNonRoot
		}
		if nonRoot == nil || !*nonRoot {
			fail("runAsNonRoot must be true (on the container or the pod)")
		}
		seccomp := psc.SeccompProfile
		if sc.SeccompProfile != nil {
			seccomp = sc.SeccompProfile
		}
		if seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
			fail("seccompProfile must be RuntimeDefault (on the container or the pod)")
		}
		req, lim := c.Resources.Requests, c.Resources.Limits
		if req.Cpu().IsZero() || req.Memory().IsZero() || lim.Memory().IsZero() {
			fail("resources: want cpu and memory requests and a memory limit")
		}
		if !pinned(c.Image) {
			fail("image %q: want a tag other than latest, or a digest", c.Image)
		}
	}
	return errs
}

// pinned reports whether an image reference names a tag other than latest, or a digest.
func pinned(image string) bool {
	if strings.Contains(image, "@sha256:") {
		return true
	}
	last := image[strings.LastIndex(image, "/")+1:]
	_, tag, ok := strings.Cut(last, ":")
	return ok && tag != "" && tag != "latest"
}

// checkSwitchyard checks what every Switchyard container needs, whatever the form, and
// returns its configuration (nil when there is none to check further).
func checkSwitchyard(pod *corev1.PodSpec, c *corev1.Container, configMaps map[string]*corev1.ConfigMap, secrets *corev1.Secret) (*config.Config, []error) {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	// The configuration: a file of a mounted ConfigMap, which validates with the
	// environment the container gets.
	if len(c.Args) != 3 || c.Args[0] != "serve" || c.Args[1] != "--config" {
		return nil, append(errs, fmt.Errorf("args %q: want [serve --config FILE]", c.Args))
	}
	file := c.Args[2]
	mount := mountAt(c, path.Dir(file))
	vol := volume(pod, mount)
	if mount == nil || vol == nil || vol.ConfigMap == nil {
		return nil, append(errs, fmt.Errorf("no ConfigMap volume mounted at %s", path.Dir(file)))
	}
	if !mount.ReadOnly || mount.SubPath != "" {
		fail("the configuration mount must be readOnly and without subPath (a subPath mount never sees updates)")
	}
	cm := configMaps[vol.ConfigMap.Name]
	if cm == nil {
		return nil, append(errs, fmt.Errorf("ConfigMap %s (volume %s) is not part of the overlay", vol.ConfigMap.Name, vol.Name))
	}
	data, ok := cm.Data[path.Base(file)]
	if !ok {
		return nil, append(errs, fmt.Errorf("ConfigMap %s has no key %s", cm.Name, path.Base(file)))
	}
	env, err := environment(c, secrets)
	if err != nil {
		return nil, append(errs, err)
	}
	cfg, err := config.Parse([]byte(data), func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	})
	if err != nil {
		return nil, append(errs, fmt.Errorf("ConfigMap %s, %s does not validate with the container's environment:\n%w", cm.Name, path.Base(file), err))
	}

	errs = append(errs, checkAdminToken(data, c, secrets, cfg)...)

	// Stopping: the kubelet must not kill Switchyard before it has drained.
	need := cfg.DrainDelay + cfg.ShutdownGrace
	if g := pod.TerminationGracePeriodSeconds; g == nil || float64(*g) <= need.Seconds() {
		fail("terminationGracePeriodSeconds must exceed drain_delay + shutdown_grace (%s)", need)
	}

	// Probes on the admin port, which must be reachable from the kubelet.
	host, port, _ := net.SplitHostPort(cfg.AdminListen)
	if host != "0.0.0.0" && host != "" && host != "::" {
		fail("admin_listen %s: the kubelet probes the pod IP, listen on 0.0.0.0", cfg.AdminListen)
	}
	adminPort, _ := strconv.Atoi(port)
	probes := []struct {
		name  string
		probe *corev1.Probe
		paths []string
	}{
		{"startupProbe", c.StartupProbe, []string{"/readyz", "/healthz"}},
		{"readinessProbe", c.ReadinessProbe, []string{"/readyz"}},
		{"livenessProbe", c.LivenessProbe, []string{"/healthz"}},
	}
	for _, p := range probes {
		switch {
		case p.probe == nil || p.probe.HTTPGet == nil:
			fail("%s: want an httpGet probe", p.name)
		case !slices.Contains(p.paths, p.probe.HTTPGet.Path):
			fail("%s: path %s, want one of %v", p.name, p.probe.HTTPGet.Path, p.paths)
		case containerPort(c, p.probe.HTTPGet.Port) != adminPort:
			fail("%s: port %s is not the admin port %d", p.name, p.probe.HTTPGet.Port.String(), adminPort)
		}
	}

	// Memory: GOMEMLIMIT must leave the runtime room under the container's limit.
	limit := c.Resources.Limits.Memory()
	if soft, ok := envValue(c, "GOMEMLIMIT"); !ok {
		fail("GOMEMLIMIT is not set")
	} else if n, err := parseGoMemLimit(soft); err != nil || n >= limit.Value() {
		fail("GOMEMLIMIT %s must be below the memory limit %s", soft, limit)
	}

	// State: the embedded store writes a file, and only volumes are writable.
	if cfg.State.Driver == "embedded" {
		dir := path.Dir(cfg.State.Path)
		m := mountAt(c, dir)
		if v := volume(pod, m); v == nil || m.ReadOnly || (v.EmptyDir == nil && v.PersistentVolumeClaim == nil) {
			fail("state.path %s: want a writable emptyDir or PVC mounted at %s (the root filesystem is read-only)", cfg.State.Path, dir)
		}
	}
	return cfg, errs
}

// checkSidecar: a native sidecar on loopback that the application reaches.
func checkSidecar(d *appsv1.Deployment, c *corev1.Container, isInit bool, cfg *config.Config, objs []any) []error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !isInit || c.RestartPolicy == nil || *c.RestartPolicy != corev1.ContainerRestartPolicyAlways {
		fail("a sidecar is an init container with restartPolicy: Always (starts before the app, stops after it)")
	}
	if host, _, _ := net.SplitHostPort(cfg.Listen); host != "127.0.0.1" && host != "localhost" && host != "::1" {
		fail("listen %s: a sidecar's API listens on loopback only", cfg.Listen)
	}
	want := "http://" + cfg.Listen + "/v1"
	apps := 0
	for _, app := range d.Spec.Template.Spec.Containers {
		if v, ok := envValue(&app, "OPENAI_BASE_URL"); ok {
			apps++
			if v != want {
				fail("container %s: OPENAI_BASE_URL %s, want %s", app.Name, v, want)
			}
		}
	}
	if apps == 0 {
		fail("no application container sets OPENAI_BASE_URL")
	}
	adminName := portName(c, cfg.AdminListen)
	monitored := false
	for _, obj := range objs {
		if pm, ok := obj.(*monitoringv1.PodMonitor); ok && selects(&pm.Spec.Selector, d.Spec.Template.Labels) {
			for _, ep := range pm.Spec.PodMetricsEndpoints {
				if ep.Port != nil && *ep.Port == adminName && ep.Path == "/metrics" {
					monitored = true
				}
			}
		}
	}
	if !monitored {
		fail("no PodMonitor scrapes /metrics on port %q of these pods", adminName)
	}
	return errs
}

// checkShared: replicas behind a Service, autoscaled, spread, disrupted one at a time,
// scraped, and sharing their state.
func checkShared(d *appsv1.Deployment, c *corev1.Container, isInit bool, cfg *config.Config, objs []any) []error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	podLabels := d.Spec.Template.Labels
	if isInit {
		fail("the shared service is a regular container, not an init container")
	}
	if host, _, _ := net.SplitHostPort(cfg.Listen); host != "0.0.0.0" && host != "" && host != "::" {
		fail("listen %s: the Service reaches the pod IP, listen on 0.0.0.0", cfg.Listen)
	}
	if cfg.State.Driver != "redis" {
		fail("state.driver %s: replicas share budgets and rate limits only through redis", cfg.State.Driver)
	}
	if d.Spec.Replicas != nil {
		fail("spec.replicas is set: the HorizontalPodAutoscaler owns the count, and every apply would reset it")
	}
	if s := d.Spec.Strategy; s.RollingUpdate == nil || s.RollingUpdate.MaxUnavailable == nil ||
		intstr.ValueOrDefault(s.RollingUpdate.MaxUnavailable, intstr.FromInt32(1)).String() != "0" {
		fail("strategy: want a RollingUpdate with maxUnavailable: 0")
	}
	var keys []string
	for _, tsc := range d.Spec.Template.Spec.TopologySpreadConstraints {
		if selects(tsc.LabelSelector, podLabels) {
			keys = append(keys, tsc.TopologyKey)
		}
	}
	if !slices.Contains(keys, "topology.kubernetes.io/zone") || !slices.Contains(keys, "kubernetes.io/hostname") {
		fail("topologySpreadConstraints %v: want zone and hostname spreading", keys)
	}

	apiName, adminName := portName(c, cfg.Listen), portName(c, cfg.AdminListen)
	if apiName == "" || adminName == "" {
		fail("want named container ports for listen %s and admin_listen %s", cfg.Listen, cfg.AdminListen)
	}
	var hpa *autoscalingv2.HorizontalPodAutoscaler
	var pdb *policyv1.PodDisruptionBudget
	var svc *corev1.Service
	for _, obj := range objs {
		switch o := obj.(type) {
		case *autoscalingv2.HorizontalPodAutoscaler:
			if o.Spec.ScaleTargetRef.Kind == "Deployment" && o.Spec.ScaleTargetRef.Name == d.Name {
				hpa = o
			}
		case *policyv1.PodDisruptionBudget:
			if selects(o.Spec.Selector, podLabels) {
				pdb = o
			}
		case *corev1.Service:
			if len(o.Spec.Selector) > 0 && labels.SelectorFromSet(o.Spec.Selector).Matches(labels.Set(podLabels)) {
				svc = o
			}
		}
	}
	switch {
	case hpa == nil:
		fail("no HorizontalPodAutoscaler targets the Deployment")
	case hpa.Spec.MinReplicas == nil || *hpa.Spec.MinReplicas < 3:
		fail("HorizontalPodAutoscaler %s: minReplicas must be at least 3", hpa.Name)
	case !slices.ContainsFunc(hpa.Spec.Metrics, func(m autoscalingv2.MetricSpec) bool {
		return m.Resource != nil && m.Resource.Name == corev1.ResourceCPU
	}):
		fail("HorizontalPodAutoscaler %s: want a CPU metric", hpa.Name)
	}
	if pdb == nil {
		fail("no PodDisruptionBudget selects the pods")
	} else if pdb.Spec.MinAvailable == nil && pdb.Spec.MaxUnavailable == nil {
		fail("PodDisruptionBudget %s: want minAvailable or maxUnavailable", pdb.Name)
	}
	if svc == nil {
		fail("no Service selects the pods")
		return errs
	}
	var svcAdmin string
	for _, want := range []string{apiName, adminName} {
		i := slices.IndexFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.TargetPort.String() == want })
		if i < 0 {
			fail("Service %s: no port targets container port %q", svc.Name, want)
		} else if want == adminName {
			svcAdmin = svc.Spec.Ports[i].Name
		}
	}
	monitored := false
	for _, obj := range objs {
		if sm, ok := obj.(*monitoringv1.ServiceMonitor); ok && selects(&sm.Spec.Selector, svc.Labels) {
			for _, ep := range sm.Spec.Endpoints {
				if svcAdmin != "" && ep.Port == svcAdmin && ep.Path == "/metrics" {
					monitored = true
				}
			}
		}
	}
	if !monitored {
		fail("no ServiceMonitor scrapes /metrics on port %q of Service %s", svcAdmin, svc.Name)
	}
	return errs
}

// checkSelectors: every selector in the overlay selects some pod, so that a label typo
// cannot leave a Service, budget or policy pointing at nothing.
func checkSelectors(objs []any, deployments []*appsv1.Deployment) []error {
	var errs []error
	selected := func(sel *metav1.LabelSelector) bool {
		return slices.ContainsFunc(deployments, func(d *appsv1.Deployment) bool { return selects(sel, d.Spec.Template.Labels) })
	}
	for _, d := range deployments {
		if !selects(d.Spec.Selector, d.Spec.Template.Labels) {
			errs = append(errs, fmt.Errorf("Deployment %s: its selector does not match its pod template", d.Name))
		}
	}
	for _, obj := range objs {
		switch o := obj.(type) {
		case *corev1.Service:
			if !selected(&metav1.LabelSelector{MatchLabels: o.Spec.Selector}) {
				errs = append(errs, fmt.Errorf("Service %s selects no pod", o.Name))
			}
		case *policyv1.PodDisruptionBudget:
			if !selected(o.Spec.Selector) {
				errs = append(errs, fmt.Errorf("PodDisruptionBudget %s selects no pod", o.Name))
			}
		case *networkingv1.NetworkPolicy:
			if !selected(&o.Spec.PodSelector) {
				errs = append(errs, fmt.Errorf("NetworkPolicy %s selects no pod", o.Name))
			}
			for _, rule := range o.Spec.Ingress {
				for _, peer := range rule.From {
					if peer.PodSelector != nil && peer.NamespaceSelector == nil && !selected(peer.PodSelector) {
						errs = append(errs, fmt.Errorf("NetworkPolicy %s admits traffic from no pod", o.Name))
					}
				}
			}
		case *monitoringv1.PodMonitor:
			if !selected(&o.Spec.Selector) {
				errs = append(errs, fmt.Errorf("PodMonitor %s selects no pod", o.Name))
			}
		}
	}
	return errs
}

// checkNames applies the API server's rules for names, labels and port names, which
// decoding alone does not (a 16-character port name decodes, and is then rejected).
func checkNames(objs []any) []error {
	var errs []error
	for _, obj := range objs {
		m := obj.(metav1.Object)
		where := fmt.Sprintf("%T %s", obj, m.GetName())
		for _, msg := range validation.IsDNS1123Subdomain(m.GetName()) {
			errs = append(errs, fmt.Errorf("%s: name: %s", where, msg))
		}
		labelSets := []map[string]string{m.GetLabels()}
		if d, ok := obj.(*appsv1.Deployment); ok {
			labelSets = append(labelSets, d.Spec.Template.Labels)
			for _, c := range slices.Concat(d.Spec.Template.Spec.InitContainers, d.Spec.Template.Spec.Containers) {
				for _, p := range c.Ports {
					for _, msg := range validation.IsValidPortName(p.Name) {
						errs = append(errs, fmt.Errorf("%s: container %s: port name %q: %s", where, c.Name, p.Name, msg))
					}
				}
			}
		}
		for _, set := range labelSets {
			for k, v := range set {
				for _, msg := range slices.Concat(validation.IsQualifiedName(k), validation.IsValidLabelValue(v)) {
					errs = append(errs, fmt.Errorf("%s: label %s=%s: %s", where, k, v, msg))
				}
			}
		}
	}
	return errs
}

// selects reports whether a non-empty selector matches the labels.
func selects(sel *metav1.LabelSelector, set map[string]string) bool {
	if sel == nil || (len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0) {
		return false
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	return err == nil && s.Matches(labels.Set(set))
}

// findContainer finds a container by name and says whether it is an init container.
func findContainer(pod *corev1.PodSpec, name string) (*corev1.Container, bool) {
	for i := range pod.InitContainers {
		if pod.InitContainers[i].Name == name {
			return &pod.InitContainers[i], true
		}
	}
	for i := range pod.Containers {
		if pod.Containers[i].Name == name {
			return &pod.Containers[i], false
		}
	}
	return nil, false
}

func mountAt(c *corev1.Container, dir string) *corev1.VolumeMount {
	for i, m := range c.VolumeMounts {
		if path.Clean(m.MountPath) == path.Clean(dir) {
			return &c.VolumeMounts[i]
		}
	}
	return nil
}

func volume(pod *corev1.PodSpec, m *corev1.VolumeMount) *corev1.Volume {
	if m == nil {
		return nil
	}
	for i, v := range pod.Volumes {
		if v.Name == m.Name {
			return &pod.Volumes[i]
		}
	}
	return nil
}

// containerPort resolves a probe's port (a number or a port name) to a number.
func containerPort(c *corev1.Container, port intstr.IntOrString) int {
	if port.Type == intstr.Int {
		return port.IntValue()
	}
	for _, p := range c.Ports {
		if p.Name == port.StrVal {
			return int(p.ContainerPort)
		}
	}
	return -1
}

// portName is the name of the container port that the address listens on.
func portName(c *corev1.Container, addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	for _, p := range c.Ports {
		if strconv.Itoa(int(p.ContainerPort)) == port {
			return p.Name
		}
	}
	return ""
}

// envValue is the literal value of an environment variable of the container.
func envValue(c *corev1.Container, name string) (string, bool) {
	for _, e := range c.Env {
		if e.Name == name && e.ValueFrom == nil {
			return e.Value, true
		}
	}
	return "", false
}

// environment is what the container's process sees, with the Secret template standing
// for the real Secret: its envFrom Secrets, then its env entries.
func environment(c *corev1.Container, secrets *corev1.Secret) (map[string]string, error) {
	env := map[string]string{}
	for _, from := range c.EnvFrom {
		if from.SecretRef == nil || from.SecretRef.Name != secrets.Name {
			return nil, fmt.Errorf("envFrom: only the Secret %s (its template is checked) is expected", secrets.Name)
		}
		for k, v := range secrets.StringData {
			env[from.Prefix+k] = v
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			v, ok := secrets.StringData[ref.Key]
			if ref.Name != secrets.Name || !ok {
				return nil, fmt.Errorf("env %s: Secret %s has no key %s in its template", e.Name, ref.Name, ref.Key)
			}
			env[e.Name] = v
		}
	}
	return env, nil
}

func secretTemplate(tr tree, p string) (*corev1.Secret, error) {
	data, ok := tr[p]
	if !ok {
		return nil, fmt.Errorf("%s: no such Secret template", p)
	}
	var s corev1.Secret
	if err := decodeStrict(data, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	if len(s.StringData) == 0 {
		return nil, fmt.Errorf("%s: want the keys in stringData", p)
	}
	return &s, nil
}

// parseGoMemLimit reads GOMEMLIMIT's syntax: bytes, with an optional B, KiB, MiB,
// GiB or TiB suffix (runtime/debug.SetMemoryLimit).
func parseGoMemLimit(s string) (int64, error) {
	units := []struct {
		suffix string
		shift  uint
	}{{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}, {"B", 0}}
	for _, u := range units {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseInt(n, 10, 64)
			return v << u.shift, err
		}
	}
	return strconv.ParseInt(s, 10, 64)
}

// checkRedisTemplate checks the Secret template's REDIS_URL against an in-cluster Redis of
// the overlay, when there is one: its Service and the password Redis is started with.
func checkRedisTemplate(secrets *corev1.Secret, objs []any) error {
	raw, ok := secrets.StringData["REDIS_URL"]
	if !ok {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("REDIS_URL: %w", err)
	}
	for _, obj := range objs {
		svc, ok := obj.(*corev1.Service)
		if !ok || svc.Name != u.Hostname() {
			continue
		}
		if !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return strconv.Itoa(int(p.Port)) == u.Port() }) {
			return fmt.Errorf("REDIS_URL %s: Service %s has no port %s", u.Redacted(), svc.Name, u.Port())
		}
		if pw, _ := u.User.Password(); pw != secrets.StringData["REDIS_PASSWORD"] {
			return errors.New("REDIS_URL and REDIS_PASSWORD of the template hold different passwords")
		}
	}
	return nil
}

// checkAdminToken: /admin/ needs a token, and the token comes from the Secret through
// the environment (admin_token: ${VAR}), never written in the ConfigMap or the
// manifest.
func checkAdminToken(data string, c *corev1.Container, secrets *corev1.Secret, cfg *config.Config) []error {
	if cfg.AdminToken == "" {
		return []error{errors.New("admin_token is not set: /admin/ (reload, targets) would answer whoever reaches the admin port")}
	}
	var raw map[string]any
	if err := yaml.Unmarshal([]byte(data), &raw); err != nil {
		return []error{err}
	}
	written, _ := raw["admin_token"].(string)
	m := envReference.FindStringSubmatch(written)
	if m == nil || !fromSecret(c, secrets, m[1]) {
		return []error{fmt.Errorf("admin_token %q: admin_token must come from the Secret %s as ${VAR}, never be written in the ConfigMap or the manifest",
			written, secrets.Name)}
	}
	return nil
}

// envReference is a whole value that is one environment variable, without a default.
var envReference = regexp.MustCompile(`^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$`)

// fromSecret reports whether the container's variable name comes from the Secret
// (its template), with no literal env entry overriding it.
func fromSecret(c *corev1.Container, secrets *corev1.Secret, name string) bool {
	found := false
	for _, from := range c.EnvFrom {
		if k, ok := strings.CutPrefix(name, from.Prefix); ok && from.SecretRef != nil && from.SecretRef.Name == secrets.Name {
			_, found = secrets.StringData[k]
		}
	}
	for _, e := range c.Env { // env entries override envFrom
		if e.Name == name {
			ref := e.ValueFrom
			found = ref != nil && ref.SecretKeyRef != nil && ref.SecretKeyRef.Name == secrets.Name
		}
	}
	return found
}

// checkAdminPort: a NetworkPolicy isolates the pods for ingress, and every rule that
// admits the admin port admits chosen pods only (Prometheus's). The kubelet's probes
// come from the pod's node, which no policy blocks, so they need no rule.
func checkAdminPort(d *appsv1.Deployment, c *corev1.Container, cfg *config.Config, objs []any) []error {
	_, port, _ := net.SplitHostPort(cfg.AdminListen)
	num, _ := strconv.Atoi(port)
	name := portName(c, cfg.AdminListen)
	var errs []error
	isolated := false
	for _, obj := range objs {
		np, ok := obj.(*networkingv1.NetworkPolicy)
		if !ok || !selects(&np.Spec.PodSelector, d.Spec.Template.Labels) {
			continue
		}
		// Without policyTypes a policy always isolates for ingress.
		if len(np.Spec.PolicyTypes) > 0 && !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) {
			continue
		}
		isolated = true
		for i, rule := range np.Spec.Ingress {
			if admitsPort(rule.Ports, name, num) && !onlyChosenPods(rule.From) {
				errs = append(errs, fmt.Errorf("NetworkPolicy %s: ingress[%d] admits the admin port %d from more than chosen pods "+
					"(want from: peers with a podSelector, such as Prometheus's)", np.Name, i, num))
			}
		}
	}
	if !isolated {
		errs = append(errs, fmt.Errorf("no NetworkPolicy isolates these pods for ingress: the admin port %d is open to every pod of the cluster", num))
	}
	return errs
}

// admitsPort reports whether a rule's ports include the TCP port num (named name).
func admitsPort(ports []networkingv1.NetworkPolicyPort, name string, num int) bool {
	if len(ports) == 0 {
		return true // every port
	}
	for _, p := range ports {
		if p.Protocol != nil && *p.Protocol != corev1.ProtocolTCP {
			continue
		}
		switch {
		case p.Port == nil:
			return true // every port of the protocol
		case p.Port.Type == intstr.String:
			if p.Port.StrVal == name {
				return true
			}
		default:
			lo, hi := int(p.Port.IntVal), int(p.Port.IntVal)
			if p.EndPort != nil {
				hi = int(*p.EndPort)
			}
			if lo <= num && num <= hi {
				return true
			}
		}
	}
	return false
}

// onlyChosenPods reports whether every peer names pods by label: no empty from (every
// source), no IP block, no whole namespace.
func onlyChosenPods(from []networkingv1.NetworkPolicyPeer) bool {
	if len(from) == 0 {
		return false
	}
	for _, p := range from {
		if p.IPBlock != nil || p.PodSelector == nil || (len(p.PodSelector.MatchLabels) == 0 && len(p.PodSelector.MatchExpressions) == 0) {
			return false
		}
	}
	return true
}
