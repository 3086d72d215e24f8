package event

import (
	"crypto/sha256"
	"encoding/hex"
)

func rawHash(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:16])
}
