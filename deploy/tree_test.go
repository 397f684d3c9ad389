package deploy

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// treeRoot is where a tree is laid out in kustomize's in-memory file system.
const treeRoot = "/kubernetes"

// tree is deploy/kubernetes in memory, by slash-separated path relative to it, so that
// a test can change one file and check the whole tree again.
type tree map[string][]byte

func loadTree(t *testing.T) tree {
	t.Helper()
	tr := tree{}
	err := filepath.WalkDir("kubernetes", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel("kubernetes", p)
		tr[filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func (tr tree) clone() tree {
	c := make(tree, len(tr))
	for p, data := range tr {
		c[p] = slices.Clone(data)
	}
	return c
}

func (tr tree) paths() []string {
	ps := make([]string, 0, len(tr))
	for p := range tr {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	return ps
}

// check runs every check on the tree and returns every problem found: strict
// decoding of each file, files that no kustomization uses, and, for each overlay,
// its rendering and the invariants of checkOverlay.
func (tr tree) check() []error {
	var errs []error
	used := map[string]bool{}      // files a kustomization names
	generated := map[string]bool{} // configMapGenerator sources: Switchyard configurations
	var overlaysFound []string
	for _, p := range tr.paths() {
		dir, name := path.Split(p)
		if name != "kustomization.yaml" {
			continue
		}
		if strings.HasPrefix(dir, "overlays/") && strings.Count(dir, "/") == 2 {
			overlaysFound = append(overlaysFound, strings.TrimSuffix(strings.TrimPrefix(dir, "overlays/"), "/"))
		}
		var k types.Kustomization
		if err := decodeStrict(tr[p], &k); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p, err))
			continue
		}
		errs = append(errs, checkKustomization(p, &k)...)
		for _, r := range k.Resources {
			if strings.HasSuffix(r, ".yaml") {
				used[path.Join(dir, r)] = true
			}
		}
		for _, patch := range k.Patches {
			if patch.Path != "" {
				used[path.Join(dir, patch.Path)] = true
			}
		}
		for _, g := range k.ConfigMapGenerator {
			for _, f := range g.FileSources {
				_, file, ok := strings.Cut(f, "=") // key=path, or path alone
				if !ok {
					file = f
				}
				used[path.Join(dir, file)] = true
				generated[path.Join(dir, file)] = true
			}
		}
	}
	for _, p := range tr.paths() {
		name := path.Base(p)
		switch {
		case name == "kustomization.yaml":
			continue
		case !used[p] && !strings.HasSuffix(name, ".example.yaml"):
			errs = append(errs, fmt.Errorf("%s: no kustomization uses this file (templates end in .example.yaml)", p))
		case generated[p]:
			continue // a Switchyard configuration, checked in its rendered ConfigMap
		}
		if !strings.HasSuffix(name, ".yaml") {
			errs = append(errs, fmt.Errorf("%s: manifests end in .yaml", p))
			continue
		}
		for _, doc := range documents(tr[p]) {
			if _, err := decodeObject(doc); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", p, err))
			}
		}
	}

	var known []string
	for name := range overlaySpecs {
		known = append(known, name)
	}
	slices.Sort(known)
	if !slices.Equal(known, overlaysFound) {
		errs = append(errs, fmt.Errorf("overlays %v, but overlaySpecs describes %v", overlaysFound, known))
	}
	fsys, err := tr.fs()
	if err != nil {
		return append(errs, err)
	}
	for _, name := range overlaysFound {
		spec, ok := overlaySpecs[name]
		if !ok {
			continue
		}
		objs, err := render(fsys, "overlays/"+name)
		if err != nil {
			errs = append(errs, fmt.Errorf("overlays/%s: %w", name, err))
			continue
		}
		for _, err := range checkOverlay(tr, spec, objs) {
			errs = append(errs, fmt.Errorf("overlays/%s: %w", name, err))
		}
	}
	return errs
}

// checkKustomization enforces the house rules of our kustomizations.
func checkKustomization(p string, k *types.Kustomization) []error {
	var errs []error
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		errs = append(errs, fmt.Errorf("%s: want apiVersion kustomize.config.k8s.io/v1beta1, kind Kustomization", p))
	}
	deprecated := []struct {
		field string
		used  bool
	}{
		{"commonLabels (use labels)", len(k.CommonLabels) > 0},
		{"patchesStrategicMerge (use patches)", len(k.PatchesStrategicMerge) > 0},
		{"patchesJson6902 (use patches)", len(k.PatchesJson6902) > 0},
		{"bases (use resources)", len(k.Bases) > 0},
		{"vars (use replacements)", len(k.Vars) > 0},
		{"imageTags (use images)", len(k.ImageTags) > 0},
	}
	for _, d := range deprecated {
		if d.used {
			errs = append(errs, fmt.Errorf("%s: deprecated field %s", p, d.field))
		}
	}
	for _, l := range k.Labels {
		// Selectors are immutable on a Deployment: a label added to them later makes
		// every apply fail. They are written in the manifests instead.
		if l.IncludeSelectors {
			errs = append(errs, fmt.Errorf("%s: labels must not use includeSelectors", p))
		}
	}
	return errs
}

func (tr tree) fs() (filesys.FileSystem, error) {
	fsys := filesys.MakeFsInMemory()
	for p, data := range tr {
		if err := fsys.WriteFile(path.Join(treeRoot, p), data); err != nil {
			return nil, err
		}
	}
	return fsys, nil
}

// render builds the kustomization in dir, as `kubectl apply -k` would, and decodes
// each resulting object strictly.
func render(fsys filesys.FileSystem, dir string) ([]any, error) {
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fsys, path.Join(treeRoot, dir))
	if err != nil {
		return nil, err
	}
	var objs []any
	for _, r := range m.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			return nil, err
		}
		obj, err := decodeObject(y)
		if err != nil {
			return nil, fmt.Errorf("rendered %s: %w", r.CurId(), err)
		}
		objs = append(objs, obj)
	}
	return objs, nil
}
