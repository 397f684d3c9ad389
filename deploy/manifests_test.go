package deploy

import (
	"bytes"
	"io"
	"log"
	"os"
	"strings"
	"testing"
)

// TestManifests decodes every manifest strictly into its API type, renders every
// overlay with kustomize and checks the invariants of each (checkOverlay).
func TestManifests(t *testing.T) {
	for _, err := range loadTree(t).check() {
		t.Error(err)
	}
}

// TestManifestMistakes proves that the checks catch what they are for: each row makes
// one mistake in one file, and the tree must then fail with the expected complaint.
func TestManifestMistakes(t *testing.T) {
	// kustomize logs its warnings (a deprecated field) through the standard logger.
	log.SetOutput(io.Discard)
	t.Cleanup(func() { log.SetOutput(os.Stderr) })
	base := loadTree(t)
	tests := []struct {
		name, file, old, new string
		want                 string // a part of one of the errors
	}{
		// Typos that kubectl, without strict validation, would drop in silence.
		{"field typo", "base/shared/deployment.yaml",
			"imagePullPolicy: IfNotPresent", "imagePullPolicyy: IfNotPresent", `unknown field "spec.template.spec.containers[0].imagePullPolicyy"`},
		{"list typo", "base/sidecar/deployment.yaml",
			"      containers:", "      contianers:", `unknown field "spec.template.spec.contianers"`},
		{"wrong case", "base/shared/deployment.yaml",
			"readOnlyRootFilesystem: true", "readOnlyRootFileSystem: true", `unknown field "spec.template.spec.containers[0].securityContext.readOnlyRootFileSystem"`},
		{"duplicate key", "base/shared/pdb.yaml",
			"  maxUnavailable: 1", "  maxUnavailable: 1\n  maxUnavailable: 2", "already set in map"},
		{"custom resource typo", "base/shared/servicemonitor.yaml",
			"  endpoints:", "  endpoint:", `unknown field "spec.endpoint"`},
		{"autoscaler typo", "base/shared/hpa.yaml",
			"averageUtilization: 70", "averageUtilisation: 70", `unknown field "spec.metrics[0].resource.target.averageUtilisation"`},
		{"kustomization typo", "base/shared/kustomization.yaml",
			"configMapGenerator:", "configMapGenerators:", `unknown field "configMapGenerators"`},
		{"patch typo", "overlays/production/resources.yaml",
			"          resources:", "          resource:", `unknown field "spec.template.spec.containers[0].resource"`},
		{"unknown kind", "base/redis/networkpolicy.yaml",
			"kind: NetworkPolicy", "kind: NetworkPolicies", "not a kind these tests know"},

		// Kustomize and Switchyard configuration mistakes.
		{"deprecated kustomize field", "overlays/production/kustomization.yaml",
			"labels:\n  - pairs:\n      environment: production\n    includeTemplates: true", "commonLabels:\n  environment: production", "deprecated field commonLabels"},
		{"selector label added by kustomize", "base/redis/kustomization.yaml",
			"includeTemplates: true", "includeSelectors: true", "must not use includeSelectors"},
		{"orphan manifest", "base/shared/kustomization.yaml",
			"  - pdb.yaml\n", "", "base/shared/pdb.yaml: no kustomization uses this file"},
		{"config key typo", "base/shared/config.yaml",
			`api_version: "2024-10-21"`, `api_versoin: "2024-10-21"`, "api_versoin"},
		{"config variable the pod lacks", "base/shared/config.yaml",
			"url: ${REDIS_URL}", "url: ${REDIS_ADDRESS}", "REDIS_ADDRESS is not set"},

		// Invariants of the pods.
		{"grace period too short", "base/shared/deployment.yaml",
			"terminationGracePeriodSeconds: 135", "terminationGracePeriodSeconds: 125", "terminationGracePeriodSeconds must exceed drain_delay + shutdown_grace (2m5s)"},
		{"sidecar that is a plain init container", "base/sidecar/deployment.yaml",
			"          restartPolicy: Always\n", "", "a sidecar is an init container with restartPolicy: Always"},
		{"writable root filesystem", "base/redis/deployment.yaml",
			"readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false", "container redis: readOnlyRootFilesystem must be true"},
		{"capabilities kept", "base/sidecar/deployment.yaml",
			"            capabilities:\n              drop: [\"ALL\"]\n            seccompProfile:", "            seccompProfile:", "container switchyard: capabilities must drop ALL"},
		{"probe on the API port", "base/shared/deployment.yaml",
			"              path: /healthz\n              port: admin", "              path: /healthz\n              port: api", "livenessProbe: port api is not the admin port 9090"},
		{"no readiness probe", "base/sidecar/deployment.yaml",
			"          readinessProbe:\n            httpGet:\n              path: /readyz\n              port: proxy-admin\n            periodSeconds: 5\n            failureThreshold: 2\n", "", "readinessProbe: want an httpGet probe"},
		{"config mounted with subPath", "base/shared/deployment.yaml",
			"              mountPath: /etc/switchyard\n", "              mountPath: /etc/switchyard\n              subPath: config.yaml\n", "without subPath"},
		{"state on the read-only root", "base/sidecar/config.yaml",
			"path: /var/lib/switchyard/switchyard.db", "path: /home/nonroot/switchyard.db", "state.path /home/nonroot/switchyard.db: want a writable emptyDir"},
		{"sidecar API off loopback", "base/sidecar/config.yaml",
			"listen: 127.0.0.1:8080", "listen: 0.0.0.0:8080", "a sidecar's API listens on loopback only"},
		{"app pointed at the wrong port", "base/sidecar/deployment.yaml",
			"http://127.0.0.1:8080/v1", "http://127.0.0.1:8081/v1", "OPENAI_BASE_URL http://127.0.0.1:8081/v1, want http://127.0.0.1:8080/v1"},
		{"GOMEMLIMIT over the limit", "overlays/production/resources.yaml",
			`value: "1800MiB"`, `value: "3GiB"`, "GOMEMLIMIT 3GiB must be below the memory limit 2Gi"},
		{"unpinned image", "overlays/shared/kustomization.yaml",
			"newTag: 7.4-alpine", "newTag: latest", `image "redis:latest"`},
		{"replicas fixed beside the autoscaler", "base/shared/deployment.yaml",
			"  selector:\n    matchLabels:\n      app.kubernetes.io/name: switchyard", "  replicas: 3\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: switchyard", "spec.replicas is set"},
		{"rollout that drops capacity", "base/shared/deployment.yaml",
			"maxUnavailable: 0", "maxUnavailable: 1", "want a RollingUpdate with maxUnavailable: 0"},
		{"shared replicas on embedded state", "base/shared/config.yaml",
			"  driver: redis\n  url: ${REDIS_URL}\n", "  driver: embedded\n  path: /tmp/switchyard.db\n", "state.driver embedded"},
		{"port name too long", "base/sidecar/deployment.yaml",
			"name: proxy-admin\n", "name: switchyard-admin\n", `port name "switchyard-admin": must be no more than 15 characters`},
		{"Service selecting nothing", "base/shared/service.yaml",
			"    app.kubernetes.io/component: proxy\n  ports:", "    app.kubernetes.io/component: prxy\n  ports:", "Service switchyard selects no pod"},
		{"ServiceMonitor on the wrong port", "base/shared/servicemonitor.yaml",
			"port: admin", "port: api", `no ServiceMonitor scrapes /metrics on port "admin"`},
		{"admin token written in the ConfigMap", "base/shared/config.yaml",
			"admin_token: ${SWITCHYARD_ADMIN_TOKEN}", "admin_token: s3cret-in-git", "admin_token must come from the Secret"},
		{"admin token with a default in git", "base/sidecar/config.yaml",
			"admin_token: ${SWITCHYARD_ADMIN_TOKEN}", "admin_token: ${SWITCHYARD_ADMIN_TOKEN:-changeme}", "admin_token must come from the Secret"},
		{"no admin token", "base/sidecar/config.yaml",
			"admin_token: ${SWITCHYARD_ADMIN_TOKEN}\n", "", "admin_token is not set"},
		{"admin token from a literal in the manifest", "base/shared/deployment.yaml",
			"            - name: GOMEMLIMIT\n", "            - name: SWITCHYARD_ADMIN_TOKEN\n              value: s3cret-in-git\n            - name: GOMEMLIMIT\n",
			"admin_token must come from the Secret"},
		{"no NetworkPolicy", "base/shared/kustomization.yaml",
			"  - networkpolicy.yaml\n", "", "no NetworkPolicy isolates these pods for ingress: the admin port 9090"},
		{"admin port open to every pod", "base/shared/networkpolicy.yaml",
			"    - from:\n        - namespaceSelector:\n            matchLabels:\n              kubernetes.io/metadata.name: monitoring\n          podSelector:\n            matchLabels:\n              app.kubernetes.io/name: prometheus\n      ports:\n        - port: admin",
			"    - ports:\n        - port: admin", "ingress[1] admits the admin port 9090 from more than chosen pods"},
		{"admin port open to a whole namespace", "base/shared/networkpolicy.yaml",
			"          podSelector:\n            matchLabels:\n              app.kubernetes.io/name: prometheus\n", "", "admits the admin port 9090 from more than chosen pods"},
		{"sidecar's port range over the admin port", "base/sidecar/networkpolicy.yaml",
			"endPort: 9089", "endPort: 9090", "ingress[0] admits the admin port 9090 from more than chosen pods"},
		{"Redis password out of step", "base/shared/secret.example.yaml",
			"REDIS_PASSWORD: replace-with-a-random-password", "REDIS_PASSWORD: another-password", "different passwords"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := base.clone()
			data, ok := tr[tt.file]
			if !ok || !bytes.Contains(data, []byte(tt.old)) {
				t.Fatalf("%s does not contain %q: the row no longer makes its mistake", tt.file, tt.old)
			}
			tr[tt.file] = bytes.Replace(data, []byte(tt.old), []byte(tt.new), 1)
			errs := tr.check()
			for _, err := range errs {
				if strings.Contains(err.Error(), tt.want) {
					return
				}
			}
			t.Errorf("no error contains %q; got %d:", tt.want, len(errs))
			for _, err := range errs {
				t.Log(err)
			}
		})
	}
}
