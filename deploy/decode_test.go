package deploy

import (
	"bytes"
	"errors"
	"fmt"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// decodeStrict decodes one YAML document into out the way the API server does with
// strict field validation: an unknown field, a field in the wrong case and a duplicate
// key are errors, so that a typo (imagePullPolicyy, contianers) fails here instead of
// being dropped in silence by kubectl or a GitOps controller.
func decodeStrict(doc []byte, out any) error {
	j, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	strict, err := kjson.UnmarshalStrict(j, out)
	if err != nil {
		return err
	}
	return errors.Join(strict...)
}

// newObject returns an empty object of the Go type of apiVersion and kind. A kind
// missing here is an error: a manifest of a new kind must be added to be checked.
func newObject(apiVersion, kind string) (any, error) {
	switch apiVersion + ", " + kind {
	case "v1, ConfigMap":
		return &corev1.ConfigMap{}, nil
	case "v1, Namespace":
		return &corev1.Namespace{}, nil
	case "v1, Secret":
		return &corev1.Secret{}, nil
	case "v1, Service":
		return &corev1.Service{}, nil
	case "v1, ServiceAccount":
		return &corev1.ServiceAccount{}, nil
	case "apps/v1, Deployment":
		return &appsv1.Deployment{}, nil
	case "autoscaling/v2, HorizontalPodAutoscaler":
		return &autoscalingv2.HorizontalPodAutoscaler{}, nil
	case "networking.k8s.io/v1, NetworkPolicy":
		return &networkingv1.NetworkPolicy{}, nil
	case "policy/v1, PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}, nil
	case "monitoring.coreos.com/v1, ServiceMonitor":
		return &monitoringv1.ServiceMonitor{}, nil
	case "monitoring.coreos.com/v1, PodMonitor":
		return &monitoringv1.PodMonitor{}, nil
	}
	return nil, fmt.Errorf("apiVersion %q kind %q: not a kind these tests know; add it to newObject", apiVersion, kind)
}

// decodeObject decodes one manifest document into its typed object.
func decodeObject(doc []byte) (any, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return nil, err
	}
	if tm.APIVersion == "" || tm.Kind == "" {
		return nil, errors.New("apiVersion and kind are required")
	}
	obj, err := newObject(tm.APIVersion, tm.Kind)
	if err != nil {
		return nil, err
	}
	if err := decodeStrict(doc, obj); err != nil {
		return nil, fmt.Errorf("%s: %w", tm.Kind, err)
	}
	if obj.(metav1.Object).GetName() == "" {
		return nil, fmt.Errorf("%s: metadata.name is required", tm.Kind)
	}
	return obj, nil
}

// documents splits a YAML stream on its "---" separators and drops documents that
// hold only comments.
func documents(data []byte) [][]byte {
	var docs [][]byte
	for _, doc := range bytes.Split(append([]byte("\n"), data...), []byte("\n---")) {
		var v any
		if yaml.Unmarshal(doc, &v) == nil && v == nil {
			continue
		}
		docs = append(docs, doc)
	}
	return docs
}
