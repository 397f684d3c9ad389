package deploy

import (
	"bufio"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd   string // upper case: FROM, RUN, ...
	args  string
	stage int // 0 for the first FROM's stage; -1 before any FROM
}

func parseDockerfile(t *testing.T) []instruction {
	t.Helper()
	var out []instruction
	stage := -1
	for _, line := range joinContinuations(t, "Dockerfile") {
		cmd, args, _ := strings.Cut(line, " ")
		cmd = strings.ToUpper(cmd)
		if cmd == "FROM" {
			stage++
		}
		out = append(out, instruction{cmd: cmd, args: strings.TrimSpace(args), stage: stage})
	}
	return out
}

// joinContinuations reads a Dockerfile or shell script as logical lines: comments and
// blank lines dropped, lines ending in a backslash joined with the next.
func joinContinuations(t *testing.T, file string) []string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	var cur strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			lines = append(lines, line) // kept for markers; callers skip them
			continue
		}
		if l, ok := strings.CutSuffix(line, `\`); ok {
			cur.WriteString(l + " ")
			continue
		}
		cur.WriteString(line)
		lines = append(lines, cur.String())
		cur.Reset()
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return slices.DeleteFunc(lines, func(l string) bool {
		return l == "" || (strings.HasPrefix(l, "#") && !strings.Contains(l, "build-command:"))
	})
}

// words splits a shell command into words, keeping double-quoted strings whole (and
// unquoted): enough for the one command the Dockerfile and build.sh share.
func words(s string) []string {
	var out []string
	var cur strings.Builder
	quoted, inWord := false, false
	for _, r := range s {
		switch {
		case r == '"':
			quoted, inWord = !quoted, true
		case (r == ' ' || r == '\t') && !quoted:
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		out = append(out, cur.String())
	}
	return out
}

// dockerBuildCommand is the build stage's `RUN ... go build` command, without RUN's
// own flags (--mount=...).
func dockerBuildCommand(t *testing.T) []string {
	t.Helper()
	for _, in := range parseDockerfile(t) {
		if in.stage == 0 && in.cmd == "RUN" && strings.Contains(in.args, "go build") {
			ws := words(in.args)
			for len(ws) > 0 && strings.HasPrefix(ws[0], "--") {
				ws = ws[1:]
			}
			return ws
		}
	}
	t.Fatal("Dockerfile: no RUN ... go build in the build stage")
	return nil
}

// scriptBuildCommand is the command between build.sh's build-command markers.
func scriptBuildCommand(t *testing.T) []string {
	t.Helper()
	lines := joinContinuations(t, "build.sh")
	begin := slices.Index(lines, "# build-command:begin")
	end := slices.Index(lines, "# build-command:end")
	if begin < 0 || end != begin+2 {
		t.Fatalf("build.sh: want exactly one command between # build-command:begin and :end, got lines %d..%d", begin, end)
	}
	return words(lines[begin+1])
}

// output returns the value of -o and the command with that value replaced.
func output(ws []string) (string, []string) {
	ws = slices.Clone(ws)
	i := slices.Index(ws, "-o")
	if i < 0 || i+1 >= len(ws) {
		return "", ws
	}
	out := ws[i+1]
	ws[i+1] = "OUTPUT"
	return out, ws
}

// TestBuildCommandMatchesDockerfile: build.sh runs the Dockerfile's go build, so that
// building without a container engine proves the image's build.
func TestBuildCommandMatchesDockerfile(t *testing.T) {
	dockerOut, docker := output(dockerBuildCommand(t))
	scriptOut, script := output(scriptBuildCommand(t))
	if !slices.Equal(docker, script) {
		t.Errorf("build.sh and the Dockerfile run different builds:\nDockerfile: %q\nbuild.sh:   %q", docker, script)
	}
	if dockerOut == "" || scriptOut == "" {
		t.Errorf("want -o in both commands, got %q and %q", dockerOut, scriptOut)
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-s -w -X main.Version=$VERSION", "./cmd/switchyard"} {
		if !slices.Contains(docker, want) {
			t.Errorf("Dockerfile build: no %q in %q", want, docker)
		}
	}
	// The final stage copies what the build wrote.
	copied := slices.ContainsFunc(parseDockerfile(t), func(in instruction) bool {
		return in.stage == 1 && in.cmd == "COPY" && slices.Equal(words(in.args), []string{"--from=build", dockerOut, "/switchyard"})
	})
	if !copied {
		t.Errorf("the final stage does not COPY --from=build %s /switchyard", dockerOut)
	}
}

// TestDockerfile checks the image's shape: the Go of go.mod, modules in their own
// layer, distroless nonroot with a numeric user, the entrypoint and the ports.
func TestDockerfile(t *testing.T) {
	ins := parseDockerfile(t)
	find := func(stage int, cmd string) []string {
		var args []string
		for _, in := range ins {
			if in.stage == stage && in.cmd == cmd {
				args = append(args, in.args)
			}
		}
		return args
	}
	goMod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	var goVersion string
	for line := range strings.Lines(string(goMod)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "go "); ok {
			parts := strings.SplitN(v, ".", 3)
			goVersion = parts[0] + "." + parts[1]
		}
	}
	if args := find(-1, "ARG"); !slices.Contains(args, "GO_VERSION="+goVersion) {
		t.Errorf("ARG %v: want GO_VERSION=%s, the Go of go.mod", args, goVersion)
	}
	if from := find(0, "FROM"); len(from) != 1 || !strings.Contains(from[0], "golang:${GO_VERSION} AS build") {
		t.Errorf("build stage FROM %v: want golang:${GO_VERSION} AS build", from)
	}
	var order []string
	for _, in := range ins {
		if in.stage == 0 && (in.cmd == "COPY" || in.cmd == "RUN") {
			order = append(order, in.cmd+" "+in.args)
		}
	}
	download := slices.Index(order, "RUN go mod download")
	if slices.Index(order, "COPY go.mod go.sum ./") != 0 || download != 1 || slices.Index(order, "COPY . .") != 2 {
		t.Errorf("build stage %q: want COPY go.mod go.sum, RUN go mod download, then COPY . . (modules in their own layer)", order)
	}

	want := map[string][]string{
		"FROM":       {"gcr.io/distroless/static-debian12:nonroot"},
		"USER":       {"65532:65532"},
		"EXPOSE":     {"8080 9090"},
		"ENTRYPOINT": {`["/switchyard"]`},
		"CMD":        {`["serve", "--config", "/etc/switchyard/config.yaml"]`},
	}
	for cmd, args := range want {
		if got := find(1, cmd); !slices.Equal(got, args) {
			t.Errorf("final stage %s %q, want %q", cmd, got, args)
		}
	}
	if n := slices.Max(slices.Collect(func(yield func(int) bool) {
		for _, in := range ins {
			if !yield(in.stage) {
				return
			}
		}
	})); n != 1 {
		t.Errorf("%d stages, want 2 (build, final)", n+1)
	}
}

// TestBuildScript builds the binary with build.sh (the Dockerfile's command) and checks
// what the image relies on: a static binary, stripped, that reports the version given.
func TestBuildScript(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	if runtime.GOOS != "linux" {
		t.Skip("the image is linux; this checks a linux ELF binary")
	}
	out := t.TempDir()
	const version = "v0.0.0-deploy-test"
	cmd := exec.Command("bash", "build.sh")
	cmd.Env = append(os.Environ(), "VERSION="+version, "OUT="+out, "TARGETOS=", "TARGETARCH=")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build.sh: %v\n%s", err, b)
	}
	bin := filepath.Join(out, "switchyard")

	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("program header %v: the binary is dynamically linked; distroless/static has no libc", p.Type)
		}
	}
	if f.Section(".dynamic") != nil || f.Section(".interp") != nil {
		t.Error("the binary has a .dynamic or .interp section: not static")
	}
	if f.Section(".symtab") != nil {
		t.Error("the binary has a symbol table: -ldflags -s was not applied")
	}

	got, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := "switchyard " + version + "\n"; string(got) != want {
		t.Errorf("version printed %q, want %q", got, want)
	}
}
