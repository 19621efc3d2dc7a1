package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// MaxFileSize bounds the config file; a real one is a few kilobytes.
const MaxFileSize = 1 << 20

// Problem is one thing wrong with a config file, located by its key path and line.
type Problem struct {
	File string
	Line int    // 0 when the key is absent from the file
	Key  string // e.g. queues[1].max_wait
	Msg  string
}

func (p Problem) String() string {
	loc := p.File
	if p.Line > 0 {
		loc = fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	if p.Key == "" {
		return fmt.Sprintf("%s: %s", loc, p.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", loc, p.Key, p.Msg)
}

// Problems is every problem found in one config file. Load returns it as its error.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Load reads, defaults and validates the config file at path. Relative file names inside it
// (hold music, certificates, the state directory) are taken relative to the file's folder.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read config %s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return nil, Problems{{File: path, Msg: fmt.Sprintf("file is larger than %d bytes", MaxFileSize)}}
	}
	// Anchor relative names at the folder's absolute path, so they do not move if the working
	// directory changes after loading (applyDefaults promises absolute paths).
	base, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("locate config %s: %w", path, err)
	}
	return Parse(data, path, base)
}

// Parse decodes a config from data. name is used in problems; baseDir anchors relative paths.
// The error, when not nil, is Problems.
func Parse(data []byte, name, baseDir string) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, Problems{yamlProblem(name, err)}
	}
	idx := indexKeys(&root)
	var ps Problems

	var cfg Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, Problems{yamlProblem(name, err)}
		}
		for _, msg := range te.Errors {
			ps = append(ps, typeProblem(name, msg, idx))
		}
	}
	// A duplicate key makes yaml.v3 drop the whole mapping that holds it, so validating the rest
	// would report keys that are in the file as missing: report the duplicates alone.
	for _, p := range ps {
		if strings.Contains(p.Msg, "already defined at line") {
			return nil, ps
		}
	}
	// One file, one document: a second one (after "---") would otherwise be ignored unread.
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		if len(extra.Content) > 0 && extra.Content[0].Tag != "!!null" {
			ps = append(ps, Problem{File: name, Line: extra.Content[0].Line,
				Msg: "a second YAML document (after ---); put the whole config in one document"})
		}
	} else if !errors.Is(err, io.EOF) {
		ps = append(ps, yamlProblem(name, err))
	}
	applyDefaults(&cfg, baseDir)
	v := validator{file: name, idx: idx, base: baseDir}
	v.validate(&cfg)
	ps = append(ps, v.problems...)
	if len(ps) > 0 {
		sort.SliceStable(ps, func(i, j int) bool { return ps[i].Line < ps[j].Line })
		return nil, ps
	}
	cfg.src = source{file: name, idx: idx}
	return &cfg, nil
}

var lineRe = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
var unknownFieldRe = regexp.MustCompile(`^field (\S+) not found in type \S+$`)

func yamlProblem(name string, err error) Problem {
	msg := err.Error()
	if m := lineRe.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return Problem{File: name, Line: n, Msg: m[2]}
	}
	return Problem{File: name, Msg: strings.TrimPrefix(msg, "yaml: ")}
}

// typeProblem turns one of yaml.v3's collected decode errors into a Problem with its key path.
func typeProblem(name, msg string, idx keyIndex) Problem {
	m := lineRe.FindStringSubmatch(msg)
	if m == nil {
		return Problem{File: name, Msg: msg}
	}
	line, _ := strconv.Atoi(m[1])
	text := m[2]
	key := idx.byLine[line]
	if u := unknownFieldRe.FindStringSubmatch(text); u != nil {
		text = "unknown key " + strconv.Quote(u[1])
	} else if strings.HasPrefix(text, "cannot unmarshal") {
		text = "wrong type: " + text
	}
	return Problem{File: name, Line: line, Key: key, Msg: text}
}

// keyIndex maps key paths ("queues[0].max_wait") to the line they stand on, and back.
type keyIndex struct {
	byPath map[string]int
	byLine map[int]string
}

func indexKeys(root *yaml.Node) keyIndex {
	idx := keyIndex{byPath: map[string]int{}, byLine: map[int]string{}}
	var walk func(n *yaml.Node, path string, depth int)
	walk = func(n *yaml.Node, path string, depth int) {
		if depth > 32 { // bound recursion on hostile input (aliases are refused by the decoder anyway)
			return
		}
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path, depth+1)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := k.Value
				if path != "" {
					p = path + "." + k.Value
				}
				idx.byPath[p] = k.Line
				if _, ok := idx.byLine[k.Line]; !ok {
					idx.byLine[k.Line] = p
				}
				walk(v, p, depth+1)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				idx.byPath[p] = c.Line
				if _, ok := idx.byLine[c.Line]; !ok {
					idx.byLine[c.Line] = p
				}
				walk(c, p, depth+1)
			}
		}
	}
	walk(root, "", 0)
	return idx
}

// line finds the line of a key path, or of its nearest parent that is in the file.
func (idx keyIndex) line(path string) int {
	for p := path; p != ""; {
		if l, ok := idx.byPath[p]; ok {
			return l
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return 0
}
