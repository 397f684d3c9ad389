// Package deploy holds Switchyard's container image (Dockerfile, build.sh) and its
// Kubernetes manifests (kubernetes/: kustomize bases and overlays). It has no code of
// its own: its tests decode every manifest strictly into the Kubernetes API types,
// render every overlay and check what the README promises of them, and build the
// binary exactly as the Dockerfile does.
package deploy
