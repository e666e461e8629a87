// Command witnesspeer checks llmseal witness cosignatures with Go's own note
// package (golang.org/x/mod/sumdb/note), and makes cosignatures for llmseal to
// check. x/mod only knows Ed25519 log keys (type 0x01); the C2SP
// tlog-cosignature type (0x04) is the small Verifier and Signer below, written
// from the spec. Build in GOPATH mode: GO111MODULE=off, nothing downloaded.
//
//	witnesspeer verify -note FILE [-log-vkey VKEY] -witness-vkey VKEY...
//	witnesspeer cosign -note FILE -log-vkey VKEY -name NAME -time UNIX
//
// verify opens the note with note.Open and prints, as JSON, every signature
// that verified (with the timestamp of cosignatures) and how many were of keys
// it does not know. cosign opens the checkpoint with the log key, adds a
// cosignature by a fresh Ed25519 key with note.Sign, and prints the new note and
// the witness vkey. Any failure exits 1 with the reason on stderr.
package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

const cosignatureType = 0x04

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

func keyHash(name string, typ byte, pub []byte) uint32 {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte{'\n', typ})
	h.Write(pub)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

// message is what a cosignature/v1 signs: two header lines, then the note text.
func message(timestamp uint64, text []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "cosignature/v1\ntime %d\n", timestamp)
	b.Write(text)
	return b.Bytes()
}

type cosigVerifier struct {
	name string
	hash uint32
	pub  ed25519.PublicKey
}

func (v cosigVerifier) Name() string    { return v.name }
func (v cosigVerifier) KeyHash() uint32 { return v.hash }
func (v cosigVerifier) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	ts := binary.BigEndian.Uint64(sig[:8])
	if ts > 1<<63-1 {
		return false
	}
	return ed25519.Verify(v.pub, message(ts, msg), sig[8:])
}

func parseCosigVkey(vkey string) (cosigVerifier, error) {
	parts := strings.SplitN(vkey, "+", 3)
	if len(parts) != 3 {
		return cosigVerifier{}, errors.New("malformed vkey")
	}
	hash, err := strconv.ParseUint(parts[1], 16, 32)
	if err != nil || len(parts[1]) != 8 {
		return cosigVerifier{}, errors.New("malformed vkey key hash")
	}
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(raw) != 1+ed25519.PublicKeySize || raw[0] != cosignatureType {
		return cosigVerifier{}, errors.New("not a type 0x04 Ed25519 cosigner vkey")
	}
	pub := ed25519.PublicKey(raw[1:])
	if keyHash(parts[0], cosignatureType, pub) != uint32(hash) {
		return cosigVerifier{}, errors.New("vkey key hash does not match the key")
	}
	return cosigVerifier{name: parts[0], hash: uint32(hash), pub: pub}, nil
}

type cosigSigner struct {
	name string
	priv ed25519.PrivateKey
	ts   uint64
}

func (s cosigSigner) Name() string { return s.name }
func (s cosigSigner) KeyHash() uint32 {
	return keyHash(s.name, cosignatureType, s.priv.Public().(ed25519.PublicKey))
}
func (s cosigSigner) Sign(msg []byte) ([]byte, error) {
	out := make([]byte, 8, 8+ed25519.SignatureSize)
	binary.BigEndian.PutUint64(out, s.ts)
	return append(out, ed25519.Sign(s.priv, message(s.ts, msg))...), nil
}

type verified struct {
	Name string  `json:"name"`
	Hash string  `json:"key_hash"`
	Time *uint64 `json:"time,omitempty"`
}

func verify(args []string) error {
	fs := flag.NewFlagSet("verify", flag.ExitOnError)
	file := fs.String("note", "", "signed note file")
	logVkey := fs.String("log-vkey", "", "log key (type 0x01, optional)")
	var witnesses multi
	fs.Var(&witnesses, "witness-vkey", "witness key (type 0x04), repeatable")
	fs.Parse(args)
	msg, err := os.ReadFile(*file)
	if err != nil {
		return err
	}
	var list []note.Verifier
	cosigners := map[string]bool{}
	if *logVkey != "" {
		v, err := note.NewVerifier(*logVkey)
		if err != nil {
			return fmt.Errorf("log vkey: %w", err)
		}
		list = append(list, v)
	}
	for _, w := range witnesses {
		v, err := parseCosigVkey(w)
		if err != nil {
			return fmt.Errorf("witness vkey: %w", err)
		}
		list = append(list, v)
		cosigners[fmt.Sprintf("%s+%08x", v.name, v.hash)] = true
	}
	n, err := note.Open(msg, note.VerifierList(list...))
	if err != nil {
		return err
	}
	out := struct {
		Verified   []verified `json:"verified"`
		Unverified int        `json:"unverified"`
		Text       string     `json:"text"`
	}{Unverified: len(n.UnverifiedSigs), Text: n.Text}
	for _, s := range n.Sigs {
		item := verified{Name: s.Name, Hash: fmt.Sprintf("%08x", s.Hash)}
		if cosigners[fmt.Sprintf("%s+%08x", s.Name, s.Hash)] {
			// note.Open verified it, so it is a 4-byte key hash and a 72-byte cosignature.
			raw, _ := base64.StdEncoding.DecodeString(s.Base64)
			ts := binary.BigEndian.Uint64(raw[4:12])
			item.Time = &ts
		}
		out.Verified = append(out.Verified, item)
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}

func cosign(args []string) error {
	fs := flag.NewFlagSet("cosign", flag.ExitOnError)
	file := fs.String("note", "", "checkpoint note file")
	logVkey := fs.String("log-vkey", "", "the log's key (type 0x01)")
	name := fs.String("name", "", "the witness name")
	ts := fs.Uint64("time", 0, "cosignature timestamp (POSIX seconds)")
	fs.Parse(args)
	msg, err := os.ReadFile(*file)
	if err != nil {
		return err
	}
	logV, err := note.NewVerifier(*logVkey)
	if err != nil {
		return fmt.Errorf("log vkey: %w", err)
	}
	n, err := note.Open(msg, note.VerifierList(logV))
	if err != nil {
		return err
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	signer := cosigSigner{name: *name, priv: priv, ts: *ts}
	signed, err := note.Sign(n, signer)
	if err != nil {
		return err
	}
	vkey := fmt.Sprintf("%s+%08x+%s", *name, signer.KeyHash(),
		base64.StdEncoding.EncodeToString(append([]byte{cosignatureType}, pub...)))
	return json.NewEncoder(os.Stdout).Encode(map[string]string{"note": string(signed), "vkey": vkey})
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: witnesspeer verify|cosign ...")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "verify":
		err = verify(os.Args[2:])
	case "cosign":
		err = cosign(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "witnesspeer:", err)
		os.Exit(1)
	}
}
