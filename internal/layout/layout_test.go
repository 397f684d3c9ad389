// Package layout holds the test that keeps the package layout honest: imports flow
// one way (proxy → dialects → executor → policy → providers), and the cloud
// emulators reach the binary only through the demo command.
package layout

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/switchyard/switchyard/"

// imports maps each production (non-test) file of the module, by path relative to
// the module root, to the module packages it imports.
func imports(t *testing.T) map[string][]string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		for _, imp := range f.Imports {
			p := strings.Trim(imp.Path.Value, `"`)
			if strings.HasPrefix(p, module) {
				out[filepath.ToSlash(rel)] = append(out[filepath.ToSlash(rel)], strings.TrimPrefix(p, module))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func under(path, dir string) bool { return path == dir || strings.HasPrefix(path, dir+"/") }

func TestImportsFlowOneWay(t *testing.T) {
	if _, err := os.Stat("../../go.mod"); err != nil {
		t.Fatalf("module root not found: %v", err)
	}
	files := imports(t)
	if len(files) == 0 {
		t.Fatal("no files read")
	}
	// forbidden[d] are the packages code under directory d may not import.
	forbidden := map[string][]string{
		"providers": {"policy", "executor", "dialect", "proxy", "responses", "cache", "state"},
		"policy":    {"executor", "dialect", "proxy"},
		"responses": {"executor", "dialect", "proxy"},
		"state":     {"executor", "dialect", "proxy", "policy"},
		"keyring":   {"executor", "dialect", "proxy"},
		"executor":  {"dialect", "proxy"},
		"dialect":   {"proxy"},
	}
	for file, deps := range files {
		dir := filepath.ToSlash(filepath.Dir(file))
		for _, dep := range deps {
			for d, bad := range forbidden {
				if !under(dir, d) {
					continue
				}
				for _, b := range bad {
					if under(dep, b) && !(under(dir, "providers/fakes") && under(dep, "providers")) {
						t.Errorf("%s imports %s: %s may not depend on %s", file, dep, d, b)
					}
				}
			}
			if under(dep, "proxy") && !under(dir, "cmd") {
				t.Errorf("%s imports proxy: nothing but the binary does", file)
			}
			if under(dep, "dialect") && under(dir, "dialect") && strings.Split(dep, "/")[1] != strings.Split(dir, "/")[1] {
				t.Errorf("%s imports %s: dialects do not depend on each other", file, dep)
			}
			// The cloud emulators reach the production binary only through the demo.
			if under(dep, "providers/fakes") && !under(dir, "providers/fakes") &&
				!(dir == "cmd/switchyard" && strings.HasPrefix(filepath.Base(file), "demo")) {
				t.Errorf("%s imports the cloud emulators: only the demo command may", file)
			}
		}
	}
}
