// Package bloom is the small Bloom filter kept with each chunk's index row, so that lookups
// of a message by id or key read only the chunks that may hold it.
//
// The probe positions are part of the schema: Postgres evaluates them in SQL
// (floe_bloom_has in migrations), so this package and that function must agree. An item's
// 64-bit FNV-1a hash, mixed by the splitmix64 finaliser, gives h1 (low 31 bits) and h2 (next 31 bits, forced odd); probe i sets
// bit (h1 + i*h2) mod m, where bit n is bit n%8 (least significant first) of byte n/8.
package bloom

import "hash/fnv"

// Probes is the number of bits set per item.
const Probes = 7

// BitsPerItem sizes a filter: about 0.8% false positives at 7 probes.
const BitsPerItem = 10

// Filter is a Bloom filter over strings.
type Filter struct {
	bits []byte
}

// New returns a filter sized for n items (at least 8 bytes).
func New(n int) *Filter {
	nbytes := (n*BitsPerItem + 7) / 8
	if nbytes < 8 {
		nbytes = 8
	}
	return &Filter{bits: make([]byte, nbytes)}
}

// FromBytes wraps stored filter bits.
func FromBytes(b []byte) *Filter { return &Filter{bits: b} }

// Hashes returns the two probe hashes of an item, as the SQL function takes them.
func Hashes(item string) (h1, h2 int64) {
	h := fnv.New64a()
	_, _ = h.Write([]byte(item))
	v := mix(h.Sum64())
	h1 = int64(v & 0x7fffffff)
	h2 = int64((v>>31)&0x7fffffff) | 1
	return h1, h2
}

// mix is the splitmix64 finaliser: FNV-1a alone spreads similar short strings poorly.
func mix(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Add records an item.
func (f *Filter) Add(item string) {
	h1, h2 := Hashes(item)
	m := int64(len(f.bits)) * 8
	for i := int64(0); i < Probes; i++ {
		pos := (h1 + i*h2) % m
		f.bits[pos/8] |= 1 << (pos % 8)
	}
}

// MayContain reports whether the item may have been added (false means certainly not).
func (f *Filter) MayContain(item string) bool {
	if len(f.bits) == 0 {
		return false
	}
	h1, h2 := Hashes(item)
	m := int64(len(f.bits)) * 8
	for i := int64(0); i < Probes; i++ {
		pos := (h1 + i*h2) % m
		if f.bits[pos/8]&(1<<(pos%8)) == 0 {
			return false
		}
	}
	return true
}

// Bytes returns the filter's bits for storage.
func (f *Filter) Bytes() []byte { return f.bits }

// IDItem and KeyItem name the two kinds of items a chunk's filter holds.
func IDItem(messageID string) string { return "i:" + messageID }

// KeyItem is the filter item for a message key.
func KeyItem(key string) string { return "k:" + key }

// OfMessage returns the filter of one message, its id and keys: the index row of a
// single message that a dead letter or a redrive appends.
func OfMessage(messageID string, keys []string) []byte {
	f := New(1 + len(keys))
	f.Add(IDItem(messageID))
	for _, k := range keys {
		f.Add(KeyItem(k))
	}
	return f.Bytes()
}

// OfChunk builds the filter a chunk's index row keeps of its n messages: each message's
// id and keys, sized for the items it holds (BitsPerItem each). at returns message i's id
// and keys. Index rows live as long as their data, so a filter is sized for what it holds
// and no more: about 1.25 bytes a message without keys, and for a %TRACE% message, keyed
// by every id it covers, what its keys need rather than a size a few keys would fill.
func OfChunk(n int, at func(i int) (id string, keys []string)) []byte {
	items := 0
	for i := range n {
		_, keys := at(i)
		items += 1 + len(keys)
	}
	f := New(items)
	for i := range n {
		id, keys := at(i)
		f.Add(IDItem(id))
		for _, k := range keys {
			f.Add(KeyItem(k))
		}
	}
	return f.Bytes()
}
