package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"
)

// MinSIPPassword is the shortest SIP password (lines' and agents') the config accepts. A SIP
// digest (RFC 3261 §22.4, MD5) seen on the network can be guessed offline at billions of tries
// per second on one GPU, and online guessing is only slowed by the ban. NIST SP 800-63B asks for
// at least 8 characters of a secret a person chooses and remembers; these are typed once into a
// phone or an ATA, so 12 costs nothing and puts a random one (62^12, about 3e21) out of reach of
// an offline search.
const MinSIPPassword = 12

// credentialsVar names the folder of a systemd service's credentials, set for the service by
// LoadCredential= (systemd.exec(5), "Credentials"). It is the only variable a password_file
// expands.
const credentialsVar = "CREDENTIALS_DIRECTORY"

// maxSecretFile bounds a password file; a password is a few dozen bytes.
const maxSecretFile = 4096

// sipPassword resolves the password of the line or agent at key (e.g. "lines[0]"), given in the
// YAML (password) or in a file (password_file), and checks its length.
func (v *validator) sipPassword(key string, password *string, file string) {
	at := key + ".password"
	switch {
	case file != "" && *password != "":
		v.add(key+".password_file", "set password or password_file, not both")
		return
	case file != "":
		at = key + ".password_file"
		s, err := readSecret(file, v.base)
		if err != nil {
			v.add(at, "%v", err)
			return
		}
		*password = s
	case !v.required(at, *password):
		return
	}
	if n := utf8.RuneCountInString(*password); n < MinSIPPassword {
		v.add(at, "the password has %d characters; want at least %d (a SIP digest can be guessed offline)", n, MinSIPPassword)
	}
}

// readSecret reads a password file: ${CREDENTIALS_DIRECTORY} expanded, a relative name taken
// from base, one trailing line end dropped.
func readSecret(name, base string) (string, error) {
	var bad error
	path := os.Expand(name, func(v string) string {
		if v != credentialsVar {
			bad = fmt.Errorf("only ${%s} is expanded, not ${%s}", credentialsVar, v)
			return ""
		}
		dir := os.Getenv(credentialsVar)
		if dir == "" {
			bad = fmt.Errorf("${%s} is not set: run under systemd with LoadCredential= (systemd.exec(5)), or name the file", credentialsVar)
		}
		return dir
	})
	if bad != nil {
		return "", bad
	}
	f, err := os.Open(abs(base, path))
	if err != nil {
		return "", fmt.Errorf("cannot read %s: %w", path, errors.Unwrap(err))
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return "", fmt.Errorf("cannot read %s: %w", path, err)
	}
	if len(b) > maxSecretFile {
		return "", fmt.Errorf("%s is larger than %d bytes: not a password file", path, maxSecretFile)
	}
	s := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if s == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return s, nil
}
