// Command tlogpeer checks an llmseal transparency log with Go's own sumdb code
// (golang.org/x/mod/sumdb/note and .../tlog), an implementation that shares
// nothing with ours. Build in GOPATH mode: GO111MODULE=off, nothing downloaded.
//
//	tlogpeer -vkey VKEY -origin ORIGIN -log DIR [-proof FILE]... [-consistency FILE]...
//
// It verifies DIR/checkpoint with note.Open, rebuilds every tile of the tree
// from the entry bundles and compares it byte for byte with our tile files,
// reads the tree back through tlog.TileHashReader (which authenticates each tile
// against the signed root), checks every -proof (a tlog-proof@v1 file) with
// tlog.CheckRecord and every -consistency file ("old N", proof hashes, blank
// line, the old checkpoint) with tlog.CheckTree, and checks its own inclusion
// and consistency proofs too. It prints a JSON summary; any failure exits 1.
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

type checkpoint struct {
	origin string
	tree   tlog.Tree
}

// openCheckpoint verifies a signed note with the log key and parses the C2SP body
// (x/mod's ParseTree wants the sumdb body, so the three lines are read here).
func openCheckpoint(msg []byte, verifier note.Verifier) (checkpoint, error) {
	n, err := note.Open(msg, note.VerifierList(verifier))
	if err != nil {
		return checkpoint{}, err
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 {
		return checkpoint{}, errors.New("checkpoint text too short")
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || strconv.FormatInt(size, 10) != lines[1] {
		return checkpoint{}, fmt.Errorf("bad tree size %q", lines[1])
	}
	root, err := tlog.ParseHash(lines[2])
	if err != nil {
		return checkpoint{}, err
	}
	return checkpoint{lines[0], tlog.Tree{N: size, Hash: root}}, nil
}

// c2spPath maps an x/mod tile to its C2SP tlog-tiles path (no height element,
// "entries" for level -1).
func c2spPath(t tlog.Tile) string {
	p := strings.TrimPrefix(t.Path(), "tile/8/")
	if strings.HasPrefix(p, "data/") {
		p = "entries/" + strings.TrimPrefix(p, "data/")
	}
	return "tile/" + p
}

type dirTiles struct{ dir string }

func (d dirTiles) Height() int { return 8 }
func (d dirTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		data, err := os.ReadFile(filepath.Join(d.dir, c2spPath(t)))
		if err != nil {
			return nil, err
		}
		out[i] = data
	}
	return out, nil
}
func (d dirTiles) SaveTiles([]tlog.Tile, [][]byte) {}

func readEntries(dir string, size int64) ([][]byte, error) {
	var entries [][]byte
	for n := int64(0); n*256 < size; n++ {
		w := size - n*256
		if w > 256 {
			w = 256
		}
		t := tlog.Tile{H: 8, L: -1, N: n, W: int(w)}
		data, err := os.ReadFile(filepath.Join(dir, c2spPath(t)))
		if err != nil {
			return nil, err
		}
		for len(data) > 0 {
			if len(data) < 2 {
				return nil, errors.New("bundle ends in a length prefix")
			}
			l := int(binary.BigEndian.Uint16(data))
			if len(data) < 2+l {
				return nil, errors.New("bundle ends inside an entry")
			}
			entries = append(entries, data[2:2+l])
			data = data[2+l:]
		}
	}
	if int64(len(entries)) != size {
		return nil, fmt.Errorf("bundles hold %d entries, checkpoint says %d", len(entries), size)
	}
	return entries, nil
}

type summary struct {
	Origin      string `json:"origin"`
	Size        int64  `json:"size"`
	Root        string `json:"root"`
	KeyID       string `json:"key_id"`
	Tiles       int    `json:"tiles_compared"`
	Inclusion   int    `json:"inclusion_ok"`
	Consistency int    `json:"consistency_ok"`
	OwnProofs   int    `json:"own_proofs_ok"`
}

func run() (summary, error) {
	var s summary
	vkey := flag.String("vkey", "", "log verifier key")
	origin := flag.String("origin", "", "log origin")
	dir := flag.String("log", "", "log directory")
	var proofs, consistency multi
	flag.Var(&proofs, "proof", "tlog-proof@v1 file (repeatable)")
	flag.Var(&consistency, "consistency", "old checkpoint + consistency proof file (repeatable)")
	flag.Parse()

	verifier, err := note.NewVerifier(*vkey)
	if err != nil {
		return s, err
	}
	s.KeyID = fmt.Sprintf("%08x", verifier.KeyHash())
	msg, err := os.ReadFile(filepath.Join(*dir, "checkpoint"))
	if err != nil {
		return s, err
	}
	cp, err := openCheckpoint(msg, verifier)
	if err != nil {
		return s, err
	}
	if cp.origin != *origin {
		return s, fmt.Errorf("origin %q, want %q", cp.origin, *origin)
	}
	s.Origin, s.Size, s.Root = cp.origin, cp.tree.N, cp.tree.Hash.String()

	entries, err := readEntries(*dir, cp.tree.N)
	if err != nil {
		return s, err
	}
	// Rebuild every stored hash from the entries alone.
	var stored []tlog.Hash
	hr := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = stored[x]
		}
		return out, nil
	})
	for i, e := range entries {
		hs, err := tlog.StoredHashes(int64(i), e, hr)
		if err != nil {
			return s, err
		}
		stored = append(stored, hs...)
	}
	root, err := tlog.TreeHash(cp.tree.N, hr)
	if err != nil {
		return s, err
	}
	if root != cp.tree.Hash {
		return s, fmt.Errorf("entries hash to %v, checkpoint says %v", root, cp.tree.Hash)
	}
	// x/mod lists every intermediate partial width; a C2SP log serves the widest.
	widest := map[[2]int64]tlog.Tile{}
	for _, t := range tlog.NewTiles(8, 0, cp.tree.N) {
		widest[[2]int64{int64(t.L), t.N}] = t
	}
	for _, t := range widest {
		want, err := tlog.ReadTileData(t, hr)
		if err != nil {
			return s, err
		}
		got, err := os.ReadFile(filepath.Join(*dir, c2spPath(t)))
		if err != nil {
			return s, err
		}
		if !bytes.Equal(got, want) {
			return s, fmt.Errorf("tile %s differs from the tile rebuilt from the entries", c2spPath(t))
		}
		s.Tiles++
	}

	tiles := tlog.TileHashReader(cp.tree, dirTiles{*dir})
	for _, path := range proofs {
		if err := checkProofFile(path, verifier, cp, entries); err != nil {
			return s, fmt.Errorf("%s: %v", path, err)
		}
		s.Inclusion++
	}
	for _, path := range consistency {
		old, err := checkConsistencyFile(path, verifier, cp)
		if err != nil {
			return s, fmt.Errorf("%s: %v", path, err)
		}
		own, err := tlog.ProveTree(cp.tree.N, old.N, tiles)
		if err != nil {
			return s, err
		}
		if err := tlog.CheckTree(own, cp.tree.N, cp.tree.Hash, old.N, old.Hash); err != nil {
			return s, fmt.Errorf("own consistency proof from %d: %v", old.N, err)
		}
		s.Consistency++
	}
	for _, n := range []int64{0, cp.tree.N / 2, cp.tree.N - 1} {
		if cp.tree.N == 0 {
			break
		}
		p, err := tlog.ProveRecord(cp.tree.N, n, tiles)
		if err != nil {
			return s, err
		}
		if err := tlog.CheckRecord(p, cp.tree.N, cp.tree.Hash, n, tlog.RecordHash(entries[n])); err != nil {
			return s, fmt.Errorf("own inclusion proof of %d: %v", n, err)
		}
		s.OwnProofs++
	}
	return s, nil
}

func decodeHashes(lines []string) (tlog.RecordProof, error) {
	var p tlog.RecordProof
	for _, l := range lines {
		raw, err := base64.StdEncoding.DecodeString(l)
		if err != nil || len(raw) != tlog.HashSize {
			return nil, fmt.Errorf("bad proof hash %q", l)
		}
		var h tlog.Hash
		copy(h[:], raw)
		p = append(p, h)
	}
	return p, nil
}

// checkProofFile checks a tlog-proof@v1: its checkpoint, then the path for the
// entry the bundles hold at that index.
func checkProofFile(path string, v note.Verifier, latest checkpoint, entries [][]byte) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	head, msg, ok := bytes.Cut(data, []byte("\n\n"))
	if !ok {
		return errors.New("no blank line")
	}
	lines := strings.Split(string(head), "\n")
	if lines[0] != "c2sp.org/tlog-proof@v1" || !strings.HasPrefix(lines[1], "index ") {
		return errors.New("not a tlog-proof@v1")
	}
	index, err := strconv.ParseInt(strings.TrimPrefix(lines[1], "index "), 10, 64)
	if err != nil {
		return err
	}
	p, err := decodeHashes(lines[2:])
	if err != nil {
		return err
	}
	cp, err := openCheckpoint(msg, v)
	if err != nil {
		return err
	}
	if cp.origin != latest.origin || cp.tree.N > latest.tree.N || index >= int64(len(entries)) {
		return errors.New("proof checkpoint is not of this log")
	}
	return tlog.CheckRecord(tlog.RecordProof(p), cp.tree.N, cp.tree.Hash, index, tlog.RecordHash(entries[index]))
}

func checkConsistencyFile(path string, v note.Verifier, latest checkpoint) (tlog.Tree, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return tlog.Tree{}, err
	}
	head, msg, ok := bytes.Cut(data, []byte("\n\n"))
	if !ok {
		return tlog.Tree{}, errors.New("no blank line")
	}
	lines := strings.Split(string(head), "\n")
	if !strings.HasPrefix(lines[0], "old ") {
		return tlog.Tree{}, errors.New("first line must be 'old N'")
	}
	p, err := decodeHashes(lines[1:])
	if err != nil {
		return tlog.Tree{}, err
	}
	old, err := openCheckpoint(msg, v)
	if err != nil {
		return tlog.Tree{}, err
	}
	if lines[0] != "old "+strconv.FormatInt(old.tree.N, 10) || old.origin != latest.origin {
		return tlog.Tree{}, errors.New("old size line does not match the old checkpoint")
	}
	err = tlog.CheckTree(tlog.TreeProof(p), latest.tree.N, latest.tree.Hash, old.tree.N, old.tree.Hash)
	return old.tree, err
}

func main() {
	s, err := run()
	if err != nil {
		fmt.Fprintln(os.Stderr, "tlogpeer:", err)
		os.Exit(1)
	}
	out, _ := json.Marshal(s)
	fmt.Println(string(out))
}
