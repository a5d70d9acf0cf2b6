/* Fast paths of transforms.segment, in C.

   Dictionary: jieba 0.42.1's precise mode with HMM (Tokenizer.cut(text, cut_all=False, HMM=True)),
   ported line for line: the prefix DAG, the max-probability route and the finalseg Viterbi for runs
   of single characters. Its dictionary state (FREQ and total) and HMM tables are handed over from
   jieba's own Python objects, so a user dictionary gives exactly what jieba gives.

   scan(): the Weibo-aware tokenizer's outer loop. Protected tokens are matched by the caller's
   compiled regex (tried only where one can start); the Chinese text between them is cut at the
   run boundaries of transforms.segment and handed to a Dictionary, or to a Python cut function
   (the jieba and rjieba backends). Its output equals Segmenter.reference_tokenize(); the tests and
   bench/wordseg.py check that on every shared text.

   tally_terms(): transforms.post_text's per-post term counts and top keywords.

   sentiment_pass(): transforms.sentiment's lexicon pass over a post's tokens.

   lookup_entries(): transforms.post_text's memo lookup of a post's tokens.

   Normalizer: transforms.weibo_text's normalization (translate, collapse whitespace) in one pass. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#define MIN_FLOAT (-3.14e100)
#define HAN_FIRST 0x4E00
#define HAN_LAST 0x9FD5
#define HAN_COUNT (HAN_LAST - HAN_FIRST + 1)
#define IS_HAN(c) ((c) >= HAN_FIRST && (c) <= HAN_LAST)
#define NO_NODE UINT32_MAX

/* HMM states, as jieba's finalseg names them; the letters break ties in max((prob, state)). */
enum { ST_B, ST_E, ST_M, ST_S };
static const char STATE_LETTER[4] = {'B', 'E', 'M', 'S'};

/* ---------------------------------------------------------------- the trie of jieba's FREQ */

/* The trie in breadth-first order: node e + 1 is reached by edge e, and a node's children are the
   edges [first, next first) where first is its entry's `first` and next first the following entry's,
   sorted by character. A step of the walk reads one run of 24-byte entries, mostly one or two cache lines:
   the dictionary has 600k nodes and the walk is bound by memory, not by instructions. An edge also
   holds what the route and the output read of its word, so a word found costs one cache line. */
typedef struct {
    uint32_t key;    /* character << 1 | (FREQ[word] > 0) */
    uint32_t first;  /* first child edge of node e + 1 */
    double logfreq;  /* log(FREQ[word]), where FREQ[word] > 0 */
    PyObject *word;  /* the str of its word once cut: repeated words are one object */
} Edge;

#define ROOT (UINT32_MAX - 1)

typedef struct {
    PyObject_HEAD
    Edge *edges;       /* edge_count + 1 entries; the last only holds `first` */
    uint32_t edge_count;
    int ready; /* set when __init__ has finished; a failed __init__ leaves a Dictionary unusable */
    uint32_t *root_index; /* BMP character -> its edge from the root, or NO_NODE */
    uint32_t root_count;
    /* The second step of a walk, the one that misses the cache most (a first character's children
       are many): (first edge, character) -> edge, open addressing, one probe mostly. */
    struct PairSlot {
        uint64_t key; /* (first edge << 21 | character) + 1; 0 is empty */
        uint32_t edge, unused;
    } *pairs;
    size_t pair_mask;
    double logtotal;
    double start[4];
    double trans[4][4];
    double *emit; /* [4][HAN_COUNT] */
} DictionaryObject;

static uint64_t
key_hash(uint64_t key)
{
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdULL;
    key ^= key >> 33;
    return key;
}

/* The edge reached from `edge` (ROOT for the root) by `ch`, or NO_NODE. */
static inline uint32_t
child_of(const DictionaryObject *self, uint32_t edge, Py_UCS4 ch)
{
    uint32_t low, high;
    if (edge == ROOT) {
        if (ch < 0x10000)
            return self->root_index[ch];
        low = 0;
        high = self->root_count;
    } else if (edge < self->root_count) {
        uint64_t key = (((uint64_t)edge << 21) | ch) + 1;
        for (size_t slot = key_hash(key) & self->pair_mask;; slot = (slot + 1) & self->pair_mask) {
            if (self->pairs[slot].key == key)
                return self->pairs[slot].edge;
            if (!self->pairs[slot].key)
                return NO_NODE;
        }
    } else {
        low = self->edges[edge].first;
        high = self->edges[edge + 1].first;
    }
    while (low < high) {
        uint32_t middle = low + (high - low) / 2;
        uint32_t here = self->edges[middle].key >> 1;
        if (here == ch)
            return middle;
        if (here < ch)
            low = middle + 1;
        else
            high = middle;
    }
    return NO_NODE;
}

#define HAS_FREQ(self, edge) ((self)->edges[edge].key & 1)

/* Whether text[start:end] is a word of FREQ with freq > 0 (FREQ.get(word) is truthy). */
static int
dictionary_has_word(const DictionaryObject *self, int kind, const void *data, Py_ssize_t start, Py_ssize_t end)
{
    uint32_t edge = ROOT;
    for (Py_ssize_t i = start; i < end; i++) {
        edge = child_of(self, edge, PyUnicode_READ(kind, data, i));
        if (edge == NO_NODE)
            return 0;
    }
    return edge != ROOT && HAS_FREQ(self, edge);
}

/* Building: a hash of (parent node, character) -> node, then laid out as Edge arrays. */
typedef struct {
    uint64_t *keys; /* (parent << 21 | code point) + 1; 0 is an empty slot */
    uint32_t *values;
    size_t mask;
    int64_t *freq;
    uint32_t nodes;
} TrieBuilder;

static int
builder_add(TrieBuilder *builder, PyObject *word, int64_t freq)
{
    Py_ssize_t length = PyUnicode_GET_LENGTH(word);
    int kind = PyUnicode_KIND(word);
    const void *data = PyUnicode_DATA(word);
    uint32_t node = 0;
    for (Py_ssize_t i = 0; i < length; i++) {
        uint64_t key = (((uint64_t)node << 21) | PyUnicode_READ(kind, data, i)) + 1;
        size_t slot = key_hash(key) & builder->mask;
        while (builder->keys[slot] && builder->keys[slot] != key)
            slot = (slot + 1) & builder->mask;
        if (!builder->keys[slot]) {
            builder->keys[slot] = key;
            builder->values[slot] = builder->nodes;
            builder->freq[builder->nodes++] = 0;
        }
        node = builder->values[slot];
    }
    if (node != 0)
        builder->freq[node] = freq;
    return 0;
}

typedef struct {
    uint32_t parent, ch, child;
} Triple;

static int
compare_triples(const void *left, const void *right)
{
    const Triple *a = left, *b = right;
    if (a->parent != b->parent)
        return a->parent < b->parent ? -1 : 1;
    return a->ch < b->ch ? -1 : a->ch > b->ch;
}

/* Lay the builder's trie out breadth-first as self->edges (see Edge). */
static int
dictionary_layout(DictionaryObject *self, const TrieBuilder *builder)
{
    uint32_t nodes = builder->nodes, count = nodes - 1; /* one edge per node but the root */
    Triple *triples = PyMem_Malloc(sizeof(Triple) * (count ? count : 1));
    uint32_t *old_start = PyMem_Calloc(nodes, sizeof(uint32_t));
    uint32_t *old_count = PyMem_Calloc(nodes, sizeof(uint32_t));
    uint32_t *queue = PyMem_Malloc(sizeof(uint32_t) * nodes); /* old node ids in new-id order */
    uint32_t *first = PyMem_Malloc(sizeof(uint32_t) * (nodes + 1)); /* by new node id */
    self->edges = PyMem_Calloc(count + 1, sizeof(Edge));
    self->edge_count = count;
    self->root_index = PyMem_Malloc(sizeof(uint32_t) * 0x10000);
    int failed = !triples || !old_start || !old_count || !queue || !first || !self->edges || !self->root_index;
    if (!failed) {
        uint32_t filled = 0;
        for (size_t slot = 0; slot <= builder->mask; slot++) {
            uint64_t key = builder->keys[slot];
            if (key) {
                key -= 1;
                triples[filled++] = (Triple){(uint32_t)(key >> 21), (uint32_t)(key & 0x1FFFFF), builder->values[slot]};
            }
        }
        qsort(triples, filled, sizeof(Triple), compare_triples);
        for (uint32_t i = filled; i-- > 0;) {
            old_start[triples[i].parent] = i;
            old_count[triples[i].parent]++;
        }
        /* Breadth first: node v's children get the next edge numbers, node e + 1 is edge e's child. */
        uint32_t queued = 1, edge = 0;
        queue[0] = 0;
        for (uint32_t v = 0; v < queued; v++) {
            first[v] = edge;
            uint32_t old = queue[v];
            for (uint32_t t = old_start[old]; t < old_start[old] + old_count[old]; t++, edge++) {
                uint32_t child = triples[t].child;
                int64_t freq = builder->freq[child];
                self->edges[edge].key = triples[t].ch << 1 | (freq > 0);
                self->edges[edge].logfreq = freq > 0 ? log((double)freq) : 0.0;
                queue[queued++] = child;
            }
        }
        first[queued] = edge;
        for (uint32_t e = 0; e <= edge; e++)
            self->edges[e].first = first[e + 1];
        self->root_count = first[1];
        for (uint32_t c = 0; c < 0x10000; c++)
            self->root_index[c] = NO_NODE;
        for (uint32_t e = 0; e < self->root_count; e++)
            if ((self->edges[e].key >> 1) < 0x10000)
                self->root_index[self->edges[e].key >> 1] = e;
        uint32_t second = self->root_count ? self->edges[self->root_count].first - self->edges[0].first : 0;
        size_t slots = 1024;
        while (slots < (size_t)second * 2 + 2)
            slots *= 2;
        self->pair_mask = slots - 1;
        self->pairs = PyMem_Calloc(slots, sizeof(*self->pairs));
        failed = !self->pairs;
        for (uint32_t e = 0; !failed && e < self->root_count; e++) {
            for (uint32_t c = self->edges[e].first; c < self->edges[e + 1].first; c++) {
                uint64_t key = (((uint64_t)e << 21) | (self->edges[c].key >> 1)) + 1;
                size_t slot = key_hash(key) & self->pair_mask;
                while (self->pairs[slot].key)
                    slot = (slot + 1) & self->pair_mask;
                self->pairs[slot].key = key;
                self->pairs[slot].edge = c;
            }
        }
    }
    if (failed)
        PyErr_NoMemory();
    PyMem_Free(triples);
    PyMem_Free(old_start);
    PyMem_Free(old_count);
    PyMem_Free(queue);
    PyMem_Free(first);
    return failed ? -1 : 0;
}

/* ---------------------------------------------------------------- growing buffers */

typedef struct {
    Py_ssize_t *items;
    Py_ssize_t size, capacity;
} IndexBuffer;

static int
index_reserve(IndexBuffer *buffer, Py_ssize_t wanted)
{
    if (wanted <= buffer->capacity)
        return 0;
    Py_ssize_t capacity = buffer->capacity ? buffer->capacity : 64;
    while (capacity < wanted)
        capacity *= 2;
    Py_ssize_t *items = PyMem_Realloc(buffer->items, (size_t)capacity * sizeof(Py_ssize_t));
    if (!items) {
        PyErr_NoMemory();
        return -1;
    }
    buffer->items = items;
    buffer->capacity = capacity;
    return 0;
}

/* Scratch space for one cut: the DAG, the route and the Viterbi tables. */
typedef struct {
    IndexBuffer dag_ends; /* DAG[k] is dag_ends[dag_start[k] .. dag_start[k + 1]] */
    IndexBuffer dag_start;
    double *route_prob;
    Py_ssize_t *route_end;
    Py_ssize_t *route_edge; /* the edge of the word route_end ends, -1 for a lone character */
    double *viterbi;
    unsigned char *back;
    Py_ssize_t capacity;
} Scratch;

static int
scratch_reserve(Scratch *scratch, Py_ssize_t length)
{
    if (length + 1 <= scratch->capacity)
        return 0;
    Py_ssize_t capacity = scratch->capacity ? scratch->capacity : 256;
    while (capacity < length + 1)
        capacity *= 2;
    double *route_prob = PyMem_Realloc(scratch->route_prob, (size_t)capacity * sizeof(double));
    if (route_prob)
        scratch->route_prob = route_prob;
    Py_ssize_t *route_end = PyMem_Realloc(scratch->route_end, (size_t)capacity * sizeof(Py_ssize_t));
    if (route_end)
        scratch->route_end = route_end;
    Py_ssize_t *route_edge = PyMem_Realloc(scratch->route_edge, (size_t)capacity * sizeof(Py_ssize_t));
    if (route_edge)
        scratch->route_edge = route_edge;
    double *viterbi = PyMem_Realloc(scratch->viterbi, (size_t)capacity * 4 * sizeof(double));
    if (viterbi)
        scratch->viterbi = viterbi;
    unsigned char *back = PyMem_Realloc(scratch->back, (size_t)capacity * 4);
    if (back)
        scratch->back = back;
    if (!route_prob || !route_end || !route_edge || !viterbi || !back) {
        PyErr_NoMemory();
        return -1;
    }
    scratch->capacity = capacity;
    return 0;
}

static void
scratch_free(Scratch *scratch)
{
    PyMem_Free(scratch->dag_ends.items);
    PyMem_Free(scratch->dag_start.items);
    PyMem_Free(scratch->route_prob);
    PyMem_Free(scratch->route_end);
    PyMem_Free(scratch->route_edge);
    PyMem_Free(scratch->viterbi);
    PyMem_Free(scratch->back);
}

static int
append_slice(PyObject *out, PyObject *text, Py_ssize_t start, Py_ssize_t end)
{
    PyObject *piece = PyUnicode_Substring(text, start, end);
    if (!piece)
        return -1;
    int failed = PyList_Append(out, piece);
    Py_DECREF(piece);
    return failed;
}

/* One str per BMP character, made once per process (as CPython keeps one per Latin-1 character): the
   same token is the same object, so the dict lookups downstream hash it once and compare by identity. */
static PyObject *char_strings[0x10000];

static int
append_char(PyObject *out, PyObject *text, Py_ssize_t i)
{
    Py_UCS4 ch = PyUnicode_READ_CHAR(text, i);
    if (ch >= 0x10000)
        return append_slice(out, text, i, i + 1);
    if (!char_strings[ch] && !(char_strings[ch] = PyUnicode_Substring(text, i, i + 1)))
        return -1;
    return PyList_Append(out, char_strings[ch]);
}

/* text[start:end], which is the word of `edge`: that word's one str. */
static int
append_word(DictionaryObject *self, PyObject *out, PyObject *text, Py_ssize_t start, Py_ssize_t end,
            Py_ssize_t edge)
{
    if (end - start == 1)
        return append_char(out, text, start);
    if (edge < 0)
        return append_slice(out, text, start, end);
    if (!self->edges[edge].word && !(self->edges[edge].word = PyUnicode_Substring(text, start, end)))
        return -1;
    return PyList_Append(out, self->edges[edge].word);
}

/* ---------------------------------------------------------------- jieba.finalseg */

/* finalseg.__cut on text[start:end], all Han: Viterbi over B, M, E, S. */
static int
viterbi_cut(DictionaryObject *self, Scratch *scratch, PyObject *out, PyObject *text, int kind,
            const void *data, Py_ssize_t start, Py_ssize_t end)
{
    static const int prev[4][2] = {
        [ST_B] = {ST_E, ST_S}, [ST_M] = {ST_M, ST_B}, [ST_S] = {ST_S, ST_E}, [ST_E] = {ST_B, ST_M}};
    Py_ssize_t length = end - start;
    if (scratch_reserve(scratch, length) < 0)
        return -1;
    double *V = scratch->viterbi;
    unsigned char *back = scratch->back;
    const double *emit = self->emit;
    Py_UCS4 ch = PyUnicode_READ(kind, data, start);
    for (int y = 0; y < 4; y++)
        V[y] = self->start[y] + emit[y * HAN_COUNT + (ch - HAN_FIRST)];
    for (Py_ssize_t t = 1; t < length; t++) {
        ch = PyUnicode_READ(kind, data, start + t);
        for (int y = 0; y < 4; y++) {
            double em_p = emit[y * HAN_COUNT + (ch - HAN_FIRST)];
            int best_state = -1;
            double best = 0;
            for (int k = 0; k < 2; k++) {
                int y0 = prev[y][k];
                double prob = V[(t - 1) * 4 + y0] + self->trans[y0][y] + em_p;
                if (best_state < 0 || prob > best ||
                    (prob == best && STATE_LETTER[y0] > STATE_LETTER[best_state])) {
                    best = prob;
                    best_state = y0;
                }
            }
            V[t * 4 + y] = best;
            back[t * 4 + y] = (unsigned char)best_state;
        }
    }
    /* max((V[-1][y], y) for y in 'ES'): "S" wins a tie. */
    int state = V[(length - 1) * 4 + ST_S] >= V[(length - 1) * 4 + ST_E] ? ST_S : ST_E;
    /* Walk back; the states are stored in route_end (free here) as small ints. */
    Py_ssize_t *states = scratch->route_end;
    for (Py_ssize_t t = length - 1; t >= 0; t--) {
        states[t] = state;
        if (t > 0)
            state = back[t * 4 + state];
    }
    Py_ssize_t begin = 0, next = 0;
    for (Py_ssize_t i = 0; i < length; i++) {
        int pos = (int)states[i];
        if (pos == ST_B) {
            begin = i;
        } else if (pos == ST_E) {
            if (append_slice(out, text, start + begin, start + i + 1) < 0)
                return -1;
            next = i + 1;
        } else if (pos == ST_S) {
            if (append_char(out, text, start + i) < 0)
                return -1;
            next = i + 1;
        }
    }
    if (next < length)
        return append_slice(out, text, start + next, end);
    return 0;
}

static int
is_ascii_alnum(Py_UCS4 ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

/* finalseg.cut on text[start:end]: Han runs through Viterbi; the rest split by
   re_skip = ([a-zA-Z0-9]+(?:\.\d+)?%?), every non-empty piece one token. */
static int
finalseg_cut(DictionaryObject *self, Scratch *scratch, PyObject *out, PyObject *text, int kind,
             const void *data, Py_ssize_t start, Py_ssize_t end)
{
    Py_ssize_t i = start;
    while (i < end) {
        Py_ssize_t j = i;
        if (IS_HAN(PyUnicode_READ(kind, data, i))) {
            while (j < end && IS_HAN(PyUnicode_READ(kind, data, j)))
                j++;
            /* The Python version copies the state list per step; this is the same path, without it.
               The route buffer is reused for states, so reserve before. */
            if (viterbi_cut(self, scratch, out, text, kind, data, i, j) < 0)
                return -1;
            i = j;
            continue;
        }
        while (j < end && !IS_HAN(PyUnicode_READ(kind, data, j)))
            j++;
        Py_ssize_t pos = i;
        while (pos < j) {
            Py_ssize_t match = pos;
            while (match < j && !is_ascii_alnum(PyUnicode_READ(kind, data, match)))
                match++;
            if (match > pos && append_slice(out, text, pos, match) < 0)
                return -1;
            if (match >= j)
                break;
            Py_ssize_t stop = match;
            while (stop < j && is_ascii_alnum(PyUnicode_READ(kind, data, stop)))
                stop++;
            if (stop + 1 < j && PyUnicode_READ(kind, data, stop) == '.' &&
                Py_UNICODE_ISDECIMAL(PyUnicode_READ(kind, data, stop + 1))) {
                stop += 2;
                while (stop < j && Py_UNICODE_ISDECIMAL(PyUnicode_READ(kind, data, stop)))
                    stop++;
            }
            if (stop < j && PyUnicode_READ(kind, data, stop) == '%')
                stop++;
            if (append_slice(out, text, match, stop) < 0)
                return -1;
            pos = stop;
        }
        i = j;
    }
    return 0;
}

/* ---------------------------------------------------------------- Tokenizer.__cut_DAG */

static int
flush_single_chars(DictionaryObject *self, Scratch *scratch, PyObject *out, PyObject *text, int kind,
                   const void *data, Py_ssize_t start, Py_ssize_t end)
{
    if (end - start == 1)
        return append_char(out, text, start);
    if (!dictionary_has_word(self, kind, data, start, end))
        return finalseg_cut(self, scratch, out, text, kind, data, start, end);
    for (Py_ssize_t i = start; i < end; i++)
        if (append_char(out, text, i) < 0)
            return -1;
    return 0;
}

/* __cut_DAG on text[start:end] (one re_han_default block). */
static int
cut_block(DictionaryObject *self, Scratch *scratch, PyObject *out, PyObject *text, int kind,
          const void *data, Py_ssize_t start, Py_ssize_t end)
{
    Py_ssize_t length = end - start;
    if (length <= 0)
        return 0;
    if (scratch_reserve(scratch, length) < 0 || index_reserve(&scratch->dag_start, length + 1) < 0)
        return -1;
    /* get_DAG: the ends of every dictionary word starting at k (freq > 0), else [k]; the word's edge
       is kept beside its end, so calc() needs no second lookup. */
    IndexBuffer *ends = &scratch->dag_ends;
    ends->size = 0;
    for (Py_ssize_t k = 0; k < length; k++) {
        scratch->dag_start.items[k] = ends->size;
        uint32_t edge = ROOT;
        Py_ssize_t found = 0;
        for (Py_ssize_t i = k; i < length; i++) {
            edge = child_of(self, edge, PyUnicode_READ(kind, data, start + i));
            if (edge == NO_NODE)
                break;
            if (HAS_FREQ(self, edge)) {
                if (index_reserve(ends, ends->size + 2) < 0)
                    return -1;
                ends->items[ends->size++] = i;
                ends->items[ends->size++] = edge;
                found++;
            }
        }
        if (!found) {
            if (index_reserve(ends, ends->size + 2) < 0)
                return -1;
            ends->items[ends->size++] = k;
            ends->items[ends->size++] = -1; /* FREQ.get(char) or 1: it is 0 or missing here */
        }
    }
    scratch->dag_start.items[length] = ends->size;
    /* calc: route[idx] = max((log(freq) - logtotal + route[x + 1][0], x) for x in DAG[idx]). */
    double *route_prob = scratch->route_prob;
    Py_ssize_t *route_end = scratch->route_end, *route_edge = scratch->route_edge;
    route_prob[length] = 0.0;
    route_end[length] = 0;
    for (Py_ssize_t idx = length - 1; idx >= 0; idx--) {
        double best = 0;
        Py_ssize_t best_end = -1, best_edge = -1;
        for (Py_ssize_t e = scratch->dag_start.items[idx]; e < scratch->dag_start.items[idx + 1]; e += 2) {
            Py_ssize_t x = ends->items[e];
            Py_ssize_t edge = ends->items[e + 1];
            double logfreq = edge < 0 ? 0.0 /* log(1) */ : self->edges[edge].logfreq;
            double prob = logfreq - self->logtotal + route_prob[x + 1];
            if (best_end < 0 || prob >= best) { /* ascending x: ">=" keeps the larger x on a tie */
                best = prob;
                best_end = x;
                best_edge = edge;
            }
        }
        route_prob[idx] = best;
        route_end[idx] = best_end;
        route_edge[idx] = best_edge;
    }
    /* The walk: runs of single characters go to flush_single_chars, which may run Viterbi and so
       reuse route_end; the route is copied out first. */
    IndexBuffer words = {0}; /* (end, edge) per word */
    if (index_reserve(&words, 2 * length + 2) < 0)
        return -1;
    Py_ssize_t count = 0;
    for (Py_ssize_t x = 0; x < length; x = route_end[x] + 1) {
        words.items[count++] = route_end[x] + 1;
        words.items[count++] = route_edge[x];
    }
    int failed = 0;
    Py_ssize_t x = 0, buffer_start = -1;
    for (Py_ssize_t w = 0; w < count && !failed; w += 2) {
        Py_ssize_t y = words.items[w];
        if (y - x == 1) {
            if (buffer_start < 0)
                buffer_start = x;
        } else {
            if (buffer_start >= 0) {
                failed = flush_single_chars(self, scratch, out, text, kind, data, start + buffer_start, start + x);
                buffer_start = -1;
            }
            if (!failed)
                failed = append_word(self, out, text, start + x, start + y, words.items[w + 1]);
        }
        x = y;
    }
    if (!failed && buffer_start >= 0)
        failed = flush_single_chars(self, scratch, out, text, kind, data, start + buffer_start, start + x);
    PyMem_Free(words.items);
    return failed ? -1 : 0;
}

/* re_han_default = [\u4E00-\u9FD5a-zA-Z0-9+#&._%-] */
static int
is_block_char(Py_UCS4 ch)
{
    return IS_HAN(ch) || is_ascii_alnum(ch) || ch == '+' || ch == '#' || ch == '&' || ch == '.' ||
           ch == '_' || ch == '%' || ch == '-';
}

/* Tokenizer.cut(text, cut_all=False, HMM=True) on text[start:end]. */
static int
jieba_cut(DictionaryObject *self, Scratch *scratch, PyObject *out, PyObject *text, Py_ssize_t start,
          Py_ssize_t end)
{
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t i = start;
    while (i < end) {
        Py_ssize_t j = i;
        if (is_block_char(PyUnicode_READ(kind, data, i))) {
            while (j < end && is_block_char(PyUnicode_READ(kind, data, j)))
                j++;
            if (cut_block(self, scratch, out, text, kind, data, i, j) < 0)
                return -1;
        } else {
            /* re_skip_default = (\r\n|\s): "\r\n" is one token, every other character is one. */
            j = i + 1;
            if (PyUnicode_READ(kind, data, i) == '\r' && j < end && PyUnicode_READ(kind, data, j) == '\n')
                j++;
            if ((j - i == 1 ? append_char(out, text, i) : append_slice(out, text, i, j)) < 0)
                return -1;
        }
        i = j;
    }
    return 0;
}

/* ---------------------------------------------------------------- Dictionary type */

static void
Dictionary_dealloc(DictionaryObject *self)
{
    if (self->edges) {
        for (uint32_t e = 0; e < self->edge_count; e++)
            Py_XDECREF(self->edges[e].word);
    }
    PyMem_Free(self->edges);
    PyMem_Free(self->pairs);
    PyMem_Free(self->root_index);
    PyMem_Free(self->emit);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int
read_state_map(PyObject *mapping, const char *what, double out[4])
{
    for (int y = 0; y < 4; y++) {
        char key[2] = {STATE_LETTER[y], 0};
        PyObject *value = PyMapping_GetItemString(mapping, key);
        if (!value) {
            if (!PyErr_ExceptionMatches(PyExc_KeyError))
                return -1;
            PyErr_Clear();
            out[y] = MIN_FLOAT;
            continue;
        }
        out[y] = PyFloat_AsDouble(value);
        Py_DECREF(value);
        if (out[y] == -1.0 && PyErr_Occurred()) {
            PyErr_Format(PyExc_TypeError, "%s: expected float values", what);
            return -1;
        }
    }
    return 0;
}

/* Dictionary(freq: dict[str, int], total: int, start_p, trans_p, emit_p) */
static int
Dictionary_init(DictionaryObject *self, PyObject *args, PyObject *kwargs)
{
    PyObject *freq, *start_p, *trans_p, *emit_p;
    long long total;
    if (!PyArg_ParseTuple(args, "O!LOOO:Dictionary", &PyDict_Type, &freq, &total, &start_p, &trans_p, &emit_p))
        return -1;
    if (self->edges || self->emit || self->ready) { /* emit: a failed __init__ may have set it alone */
        PyErr_SetString(PyExc_RuntimeError, "Dictionary is already initialized");
        return -1;
    }
    if (total <= 0) {
        PyErr_SetString(PyExc_ValueError, "total must be positive");
        return -1;
    }
    /* Every prefix of a key is a key in jieba's FREQ, but size for the worst case anyway. */
    Py_ssize_t chars = 0, position = 0;
    PyObject *word, *value;
    while (PyDict_Next(freq, &position, &word, &value)) {
        if (!PyUnicode_Check(word) || !PyLong_Check(value)) {
            PyErr_SetString(PyExc_TypeError, "freq must map str to int");
            return -1;
        }
        chars += PyUnicode_GET_LENGTH(word);
    }
    if (chars >= (Py_ssize_t)UINT32_MAX - 1) {
        PyErr_SetString(PyExc_ValueError, "dictionary too large");
        return -1;
    }
    size_t slots = 1024;
    while (slots < (size_t)chars * 2 + 2)
        slots *= 2;
    TrieBuilder builder = {0};
    builder.mask = slots - 1;
    builder.keys = PyMem_Calloc(slots, sizeof(uint64_t));
    builder.values = PyMem_Calloc(slots, sizeof(uint32_t));
    builder.freq = PyMem_Calloc((size_t)chars + 1, sizeof(int64_t));
    self->emit = PyMem_Malloc(sizeof(double) * 4 * HAN_COUNT);
    int failed = 0;
    if (!builder.keys || !builder.values || !builder.freq || !self->emit) {
        PyErr_NoMemory();
        failed = 1;
    }
    builder.nodes = 1;
    position = 0;
    while (!failed && PyDict_Next(freq, &position, &word, &value)) {
        long long count = PyLong_AsLongLong(value);
        if (count == -1 && PyErr_Occurred())
            failed = 1;
        else
            builder_add(&builder, word, count);
    }
    if (!failed)
        failed = dictionary_layout(self, &builder) < 0;
    PyMem_Free(builder.keys);
    PyMem_Free(builder.values);
    PyMem_Free(builder.freq);
    if (failed)
        return -1;
    self->logtotal = log((double)total);
    if (read_state_map(start_p, "start_p", self->start) < 0)
        return -1;
    for (int y0 = 0; y0 < 4; y0++) {
        char key[2] = {STATE_LETTER[y0], 0};
        PyObject *row = PyMapping_GetItemString(trans_p, key);
        if (!row)
            return -1;
        int failed = read_state_map(row, "trans_p", self->trans[y0]);
        Py_DECREF(row);
        if (failed)
            return -1;
    }
    for (int y = 0; y < 4; y++) {
        double *column = self->emit + y * HAN_COUNT;
        for (int c = 0; c < HAN_COUNT; c++)
            column[c] = MIN_FLOAT;
        char key[2] = {STATE_LETTER[y], 0};
        PyObject *table = PyMapping_GetItemString(emit_p, key);
        if (!table)
            return -1;
        if (!PyDict_Check(table)) {
            Py_DECREF(table);
            PyErr_SetString(PyExc_TypeError, "emit_p rows must be dicts");
            return -1;
        }
        Py_ssize_t pos = 0;
        PyObject *ch, *prob;
        while (PyDict_Next(table, &pos, &ch, &prob)) {
            if (!PyUnicode_Check(ch) || PyUnicode_GET_LENGTH(ch) != 1)
                continue;
            Py_UCS4 code = PyUnicode_READ_CHAR(ch, 0);
            if (!IS_HAN(code))
                continue; /* Viterbi only ever sees Han characters */
            column[code - HAN_FIRST] = PyFloat_AsDouble(prob);
            if (column[code - HAN_FIRST] == -1.0 && PyErr_Occurred())
                break;
        }
        Py_DECREF(table);
        if (PyErr_Occurred())
            return -1;
    }
    self->ready = 1;
    return 0;
}

static PyObject *
Dictionary_cut(DictionaryObject *self, PyObject *text)
{
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "cut() takes a str");
        return NULL;
    }
    if (!self->ready) {
        PyErr_SetString(PyExc_RuntimeError, "Dictionary is not initialized");
        return NULL;
    }
    PyObject *out = PyList_New(0);
    if (!out)
        return NULL;
    Scratch scratch = {0};
    int failed = jieba_cut(self, &scratch, out, text, 0, PyUnicode_GET_LENGTH(text));
    scratch_free(&scratch);
    if (failed) {
        Py_DECREF(out);
        return NULL;
    }
    return out;
}

static PyMethodDef Dictionary_methods[] = {
    {"cut", (PyCFunction)Dictionary_cut, METH_O,
     "cut(text) -> list[str]: jieba's lcut(text, cut_all=False, HMM=True) with this dictionary."},
    {NULL},
};

static PyTypeObject DictionaryType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "transforms._fastseg.Dictionary",
    .tp_basicsize = sizeof(DictionaryObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Dictionary_init,
    .tp_dealloc = (destructor)Dictionary_dealloc,
    .tp_methods = Dictionary_methods,
    .tp_doc = "jieba's dictionary state (FREQ, total) and HMM tables, for jieba's precise-mode cut.",
};

/* ---------------------------------------------------------------- scan() */

/* Run boundaries of transforms.segment (its _RUN_RULES): a run of Chinese ends after text[i] when
   text[i] is a numeral and text[i + 1] a measure word ("一|个"), or text[i] is the negation (不) and
   text[i + 1] a modal (是能要会敢), or text[i] an adverb (就也都又才) and text[i + 1] the copula (是).
   The six strings are kept as bits per Han character, rebuilt only when another tuple comes. */
enum { RULE_NUMERAL = 1, RULE_MEASURE = 2, RULE_NEGATION = 4, RULE_MODAL = 8, RULE_ADVERB = 16, RULE_COPULA = 32 };
static unsigned char rule_bits[HAN_COUNT];
static PyObject *rule_tuple;

static int
set_rules(PyObject *rules)
{
    if (rules == rule_tuple)
        return 0;
    if (!PyTuple_Check(rules) || PyTuple_GET_SIZE(rules) != 6) {
        PyErr_SetString(PyExc_TypeError, "scan() rules must be segment._RUN_RULES, a tuple of 6 str");
        return -1;
    }
    static unsigned char bits[HAN_COUNT];
    memset(bits, 0, sizeof(bits));
    for (int r = 0; r < 6; r++) {
        PyObject *chars = PyTuple_GET_ITEM(rules, r);
        if (!PyUnicode_Check(chars)) {
            PyErr_SetString(PyExc_TypeError, "scan() rules must be str");
            return -1;
        }
        for (Py_ssize_t i = 0; i < PyUnicode_GET_LENGTH(chars); i++) {
            Py_UCS4 ch = PyUnicode_READ_CHAR(chars, i);
            if (!IS_HAN(ch)) {
                PyErr_SetString(PyExc_ValueError, "run rules must be Chinese characters");
                return -1;
            }
            bits[ch - HAN_FIRST] |= (unsigned char)(1 << r);
        }
    }
    memcpy(rule_bits, bits, sizeof(bits)); /* only a complete table replaces the last one */
    Py_INCREF(rules);
    Py_XSETREF(rule_tuple, rules);
    return 0;
}

#define RULES(ch) (IS_HAN(ch) ? rule_bits[(ch) - HAN_FIRST] : 0)

static int
run_ends_after(Py_UCS4 ch, Py_UCS4 next)
{
    unsigned char here = RULES(ch), after = RULES(next);
    return ((here & RULE_NUMERAL) && (after & RULE_MEASURE)) || ((here & RULE_NEGATION) && (after & RULE_MODAL)) ||
           ((here & RULE_ADVERB) && (after & RULE_COPULA));
}

static int
contains(PyObject *chars, Py_UCS4 ch)
{
    Py_ssize_t length = PyUnicode_GET_LENGTH(chars);
    return length && PyUnicode_FindChar(chars, ch, 0, length, 1) >= 0;
}

typedef struct {
    DictionaryObject *dictionary; /* the C backend, or NULL */
    PyObject *cut;                /* else a Python cut function */
    Scratch scratch;
} Cutter;

static int
cut_run(Cutter *cutter, PyObject *out, PyObject *text, Py_ssize_t start, Py_ssize_t end)
{
    if (cutter->dictionary)
        return jieba_cut(cutter->dictionary, &cutter->scratch, out, text, start, end);
    PyObject *run = PyUnicode_Substring(text, start, end);
    if (!run)
        return -1;
    PyObject *tokens = PyObject_CallOneArg(cutter->cut, run);
    Py_DECREF(run);
    if (!tokens)
        return -1;
    PyObject *fast = PySequence_Fast(tokens, "cut must return a sequence of str");
    Py_DECREF(tokens);
    if (!fast)
        return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    PyObject **items = PySequence_Fast_ITEMS(fast);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (PyList_Append(out, items[i]) < 0) {
            Py_DECREF(fast);
            return -1;
        }
    }
    Py_DECREF(fast);
    return 0;
}

/* The text between protected tokens: Chinese runs (cut at the run boundaries) to the cutter, every
   other character one token. */
static int
emit_gap(Cutter *cutter, PyObject *out, PyObject *text, int kind, const void *data,
         Py_ssize_t start, Py_ssize_t end)
{
    Py_ssize_t i = start;
    while (i < end) {
        Py_UCS4 ch = PyUnicode_READ(kind, data, i);
        if (!IS_HAN(ch)) {
            if (append_char(out, text, i) < 0)
                return -1;
            i++;
            continue;
        }
        Py_ssize_t j = i;
        while (j < end) {
            Py_UCS4 here = PyUnicode_READ(kind, data, j);
            if (!IS_HAN(here))
                break;
            j++;
            if (j < end && run_ends_after(here, PyUnicode_READ(kind, data, j)))
                break;
        }
        if (cut_run(cutter, out, text, i, j) < 0)
            return -1;
        i = j;
    }
    return 0;
}

static int
is_word_char(Py_UCS4 ch)
{
    return Py_UNICODE_ISALNUM(ch) || ch == '_';
}

/* Where a protected token may start (else the protected regex cannot match there):
   - a Han character only if a user term starts with it (`han_firsts`);
   - a mark (not a word character, not whitespace, not #@[+&._%-) only if the next character is the
     same mark (a punctuation run);
   - anything else always (letters, digits, kana, #, @, [, ...). */
static int
may_start_token(Py_UCS4 ch, Py_UCS4 next, PyObject *han_firsts)
{
    if (IS_HAN(ch))
        return contains(han_firsts, ch);
    if (is_word_char(ch))
        return 1;
    switch (ch) {
    case '#': case '@': case '[': case '+': case '&': case '.': case '_': case '%': case '-':
        return 1;
    }
    return next == ch;
}

/* transforms.weibo_text's _CJK and _NICK_CHAR. */
static int
is_span_cjk(Py_UCS4 ch)
{
    return (ch >= 0x3400 && ch <= 0x4DBF) || (ch >= 0x4E00 && ch <= 0x9FFF);
}

static int
is_nick_char(Py_UCS4 ch)
{
    return is_span_cjk(ch) || is_ascii_alnum(ch) || ch == '_' || ch == '-';
}

/* segment._KANA_HANGUL's ranges. */
static int
is_kana_hangul(Py_UCS4 ch)
{
    return (ch >= 0x3040 && ch <= 0x30FF) || (ch >= 0x31F0 && ch <= 0x31FF) || (ch >= 0xAC00 && ch <= 0xD7AF);
}

#define NEEDS_REGEX (-1)

/* The three protected tokens that make up most of them in Weibo text, matched here as the regex
   would match them at text[i], in the regex's order (no earlier alternative can start with these
   characters): [emoticon] (weibo_text._EMOTICON), @mention (_MENTION), and a run of one repeated mark
   (segment._PUNCT_RUN). Returns the token's end, i when no token starts here, NEEDS_REGEX otherwise.
   The tests hold scan() equal to the regex-only reference_tokenize. */
static Py_ssize_t
common_token_end(int kind, const void *data, Py_ssize_t length, Py_ssize_t i, Py_UCS4 ch, Py_UCS4 next)
{
    Py_ssize_t j = i + 1;
    if (ch == '[') {
        /* \[[CJK A-Za-z0-9]{1,8}\] */
        while (j < length && j - i <= 8) {
            Py_UCS4 inner = PyUnicode_READ(kind, data, j);
            if (!is_span_cjk(inner) && !is_ascii_alnum(inner))
                break;
            j++;
        }
        if (j > i + 1 && j < length && PyUnicode_READ(kind, data, j) == ']')
            return j + 1;
    } else if (ch == '@') {
        /* (?<![A-Za-z0-9_])@[CJK A-Za-z0-9_-]{1,30} */
        Py_UCS4 previous = i > 0 ? PyUnicode_READ(kind, data, i - 1) : 0;
        if (!(is_ascii_alnum(previous) || previous == '_')) {
            while (j < length && j - i <= 30 && is_nick_char(PyUnicode_READ(kind, data, j)))
                j++;
            if (j > i + 1)
                return j;
        }
    } else if (is_word_char(ch) || Py_UNICODE_ISSPACE(ch) || ch == '#' || ch == '+' || ch == '&' ||
               ch == '.' || ch == '_' || ch == '%' || ch == '-' || is_kana_hangul(ch)) {
        /* user terms, links, topics, numbers, Latin names; and kana/hangul runs, which come before
           the punctuation run in the regex and hold marks too (・, ゛, ゠) */
        return NEEDS_REGEX;
    }
    /* ([^\w\s])\1+ */
    if (next != ch)
        return i;
    j = i + 1;
    while (j < length && PyUnicode_READ(kind, data, j) == ch)
        j++;
    return j;
}

/* The end of the protected regex's match at text[i], i when it does not match, -2 on an error. */
static Py_ssize_t
regex_token_end(PyObject *match, PyObject *text, Py_ssize_t i)
{
    static PyObject *end_name;
    if (!end_name && !(end_name = PyUnicode_InternFromString("end")))
        return -2;
    PyObject *position = PyLong_FromSsize_t(i);
    if (!position)
        return -2;
    PyObject *call_args[2] = {text, position};
    PyObject *found = PyObject_Vectorcall(match, call_args, 2, NULL);
    Py_DECREF(position);
    if (!found)
        return -2;
    if (found == Py_None) {
        Py_DECREF(found);
        return i;
    }
    PyObject *end_object = PyObject_CallMethodNoArgs(found, end_name);
    Py_DECREF(found);
    if (!end_object)
        return -2;
    Py_ssize_t end = PyLong_AsSsize_t(end_object);
    Py_DECREF(end_object);
    if (end == -1 && PyErr_Occurred())
        return -2;
    return end;
}

/* scan(text, match, han_firsts, rules, cutter) -> list[str]: match(text, pos) is the protected-token
   regex's bound .match, rules segment._RUN_RULES, cutter a Dictionary or a Python cut function. */
static PyObject *
scan(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError, "scan(text, match, han_firsts, rules, cutter)");
        return NULL;
    }
    PyObject *text = args[0], *match = args[1], *han_firsts = args[2];
    if (!PyUnicode_Check(text) || !PyUnicode_Check(han_firsts)) {
        PyErr_SetString(PyExc_TypeError, "scan() text and han_firsts must be str");
        return NULL;
    }
    if (set_rules(args[3]) < 0)
        return NULL;
    Cutter cutter = {0};
    if (PyObject_TypeCheck(args[4], &DictionaryType)) {
        cutter.dictionary = (DictionaryObject *)args[4];
        if (!cutter.dictionary->ready) {
            PyErr_SetString(PyExc_RuntimeError, "Dictionary is not initialized");
            return NULL;
        }
    } else {
        cutter.cut = args[4];
    }
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t length = PyUnicode_GET_LENGTH(text);
    PyObject *out = PyList_New(0);
    if (!out)
        return NULL;
    Py_ssize_t gap = 0, i = 0;
    while (i < length) {
        Py_UCS4 ch = PyUnicode_READ(kind, data, i);
        if (Py_UNICODE_ISSPACE(ch)) {
            if (emit_gap(&cutter, out, text, kind, data, gap, i) < 0)
                goto error;
            while (i < length && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, i)))
                i++;
            gap = i;
            continue;
        }
        Py_UCS4 next = i + 1 < length ? PyUnicode_READ(kind, data, i + 1) : 0;
        if (may_start_token(ch, next, han_firsts)) {
            Py_ssize_t end = IS_HAN(ch) ? NEEDS_REGEX : common_token_end(kind, data, length, i, ch, next);
            if (end == NEEDS_REGEX) {
                end = regex_token_end(match, text, i);
                if (end == -2)
                    goto error;
            }
            if (end > i) {
                if (emit_gap(&cutter, out, text, kind, data, gap, i) < 0 || append_slice(out, text, i, end) < 0)
                    goto error;
                i = gap = end;
                continue;
            }
        }
        i++;
    }
    if (emit_gap(&cutter, out, text, kind, data, gap, length) < 0)
        goto error;
    scratch_free(&cutter.scratch);
    return out;
error:
    scratch_free(&cutter.scratch);
    Py_DECREF(out);
    return NULL;
}

/* ---------------------------------------------------------------- Normalizer */

#define KEEP_CHAR UINT32_MAX
#define DROP_CHAR (UINT32_MAX - 1)

typedef struct {
    PyObject_HEAD
    uint32_t *to; /* per BMP character: its replacement, KEEP_CHAR or DROP_CHAR */
} NormalizerObject;

/* Normalizer(table): table as str.translate takes it ({code point: code point or None}, BMP only). */
static int
Normalizer_init(NormalizerObject *self, PyObject *args, PyObject *kwargs)
{
    PyObject *table;
    if (!PyArg_ParseTuple(args, "O!:Normalizer", &PyDict_Type, &table))
        return -1;
    uint32_t *to = PyMem_Malloc(sizeof(uint32_t) * 0x10000);
    if (!to) {
        PyErr_NoMemory();
        return -1;
    }
    for (uint32_t c = 0; c < 0x10000; c++)
        to[c] = KEEP_CHAR;
    Py_ssize_t position = 0;
    PyObject *key, *value;
    while (PyDict_Next(table, &position, &key, &value)) {
        long from = PyLong_Check(key) ? PyLong_AsLong(key) : -1;
        long replacement = value == Py_None ? -1 : (PyLong_Check(value) ? PyLong_AsLong(value) : -2);
        if (from < 0 || from >= 0x10000 || replacement < -1 || replacement >= 0x10000) {
            PyMem_Free(to);
            PyErr_Clear();
            PyErr_SetString(PyExc_ValueError, "Normalizer takes {BMP code point: BMP code point or None}");
            return -1;
        }
        to[from] = replacement < 0 ? DROP_CHAR : (uint32_t)replacement;
    }
    PyMem_Free(self->to);
    self->to = to;
    return 0;
}

static void
Normalizer_dealloc(NormalizerObject *self)
{
    PyMem_Free(self->to);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* normalize(text): text.translate(table), then whitespace runs to one space, stripped: in one pass. */
static PyObject *
Normalizer_normalize(NormalizerObject *self, PyObject *text)
{
    if (!PyUnicode_Check(text) || !self->to) {
        PyErr_SetString(PyExc_TypeError, "normalize() takes a str (and an initialized Normalizer)");
        return NULL;
    }
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t length = PyUnicode_GET_LENGTH(text), size = 0;
    Py_UCS4 *out = PyMem_Malloc(sizeof(Py_UCS4) * (length ? length : 1));
    if (!out)
        return PyErr_NoMemory();
    int pending_space = 0;
    for (Py_ssize_t i = 0; i < length; i++) {
        Py_UCS4 ch = PyUnicode_READ(kind, data, i);
        if (ch < 0x10000) {
            uint32_t to = self->to[ch];
            if (to == DROP_CHAR)
                continue;
            if (to != KEEP_CHAR)
                ch = to;
        }
        if (Py_UNICODE_ISSPACE(ch)) {
            pending_space = size > 0;
            continue;
        }
        if (pending_space) {
            out[size++] = ' ';
            pending_space = 0;
        }
        out[size++] = ch;
    }
    PyObject *result = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, out, size);
    PyMem_Free(out);
    return result;
}

static PyMethodDef Normalizer_methods[] = {
    {"normalize", (PyCFunction)Normalizer_normalize, METH_O,
     "normalize(text) -> str: translated, whitespace runs to one space, stripped."},
    {NULL},
};

static PyTypeObject NormalizerType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "transforms._fastseg.Normalizer",
    .tp_basicsize = sizeof(NormalizerObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Normalizer_init,
    .tp_dealloc = (destructor)Normalizer_dealloc,
    .tp_methods = Normalizer_methods,
    .tp_doc = "str.translate with a BMP table, then whitespace collapsed, in one pass.",
};

/* ---------------------------------------------------------------- tally_terms() */

typedef struct {
    PyObject *key;   /* (term, kind), borrowed from the entries */
    long long count;
    double idf;      /* the keyword IDF; has_idf 0 when the term is never a keyword */
    int has_idf;
    double negative_score; /* -count * idf, as Python computes it */
} TermTally;

static int
compare_ranked(const void *left, const void *right)
{
    const TermTally *a = *(TermTally *const *)left, *b = *(TermTally *const *)right;
    if (a->negative_score < b->negative_score)
        return -1;
    if (a->negative_score > b->negative_score)
        return 1;
    /* Equal weights: by term, as Python compares the (score, term) tuples. */
    return PyUnicode_Compare(PyTuple_GET_ITEM(a->key, 0), PyTuple_GET_ITEM(b->key, 0));
}

/* round(x, 6) as Python rounds a float: the double nearest the correctly rounded 6-place decimal.
   Away from a tie, that decimal is n / 10^6 for n = nearbyint(x * 1e6): below 1e8, x * 1e6 errs by
   under 1e-8, far less than the 1e-6 margin asked; and n / 1e6 is the double nearest it (IEEE
   division is correctly rounded; n and 1e6 are exact). Near a tie, or for large x, Python's own way:
   dtoa. */
static PyObject *
round6(double x)
{
    double scaled = x * 1e6;
    if (fabs(scaled) < 1e8) {
        double fraction = scaled - floor(scaled);
        if (fabs(fraction - 0.5) > 1e-6)
            return PyFloat_FromDouble(nearbyint(scaled) / 1e6);
    }
    char *text = PyOS_double_to_string(x, 'f', 6, 0, NULL);
    if (!text)
        return NULL;
    double rounded = PyOS_string_to_double(text, NULL, NULL);
    PyMem_Free(text);
    if (rounded == -1.0 && PyErr_Occurred())
        return NULL;
    return PyFloat_FromDouble(rounded);
}

/* tally_terms(entries, top_k) -> (counts, keywords): transforms.post_text's per-post loop. Each entry
   is a tuple (post_text._TokenEntry) whose items 2 and 3 are the token's (term, kind) key or None,
   and its keyword IDF or None. counts: {key: occurrences} in order of first occurrence; keywords: the top_k [(term, weight)]
   of the keyword candidates by TF-IDF weight (count * idf / their occurrences), then term, the weights
   rounded to 6 places: what KeywordExtractor.keywords gives for the same tokens. */
static PyObject *
tally_terms(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "tally_terms(entries, top_k)");
        return NULL;
    }
    Py_ssize_t top_k = PyLong_AsSsize_t(args[1]);
    if (top_k == -1 && PyErr_Occurred())
        return NULL;
    PyObject *fast = PySequence_Fast(args[0], "tally_terms() takes a sequence of tuples");
    if (!fast)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    PyObject **items = PySequence_Fast_ITEMS(fast);
    /* Distinct terms: by entry object first (a token's entry is one tuple in the caller's memo), in a
       small open-addressing table; if two entries turn out to hold equal keys (the memo was cleared
       within the post, or the caller built two entries for one token), again by term string. */
    PyObject *counts = PyDict_New(), *keywords = PyList_New(0);
    TermTally *tallies = PyMem_Malloc(sizeof(TermTally) * (n ? n : 1));
    TermTally **ranked = PyMem_Malloc(sizeof(TermTally *) * (n ? n : 1));
    size_t slots = 64;
    while (slots < (size_t)n * 2)
        slots *= 2;
    PyObject **slot_entry = PyMem_Calloc(slots, sizeof(PyObject *));
    Py_ssize_t *slot_tally = PyMem_Malloc(sizeof(Py_ssize_t) * slots);
    PyObject *result = NULL, *index_of = NULL;
    Py_ssize_t distinct = 0, candidates = 0;
    long long kept = 0;
    if (!counts || !keywords || !tallies || !ranked || !slot_entry || !slot_tally) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *entry = items[i];
        if (!PyTuple_Check(entry) || PyTuple_GET_SIZE(entry) < 4) {
            PyErr_SetString(PyExc_TypeError, "tally_terms() entries must be tuples of 4 or more items");
            goto done;
        }
        PyObject *key = PyTuple_GET_ITEM(entry, 2);
        if (key == Py_None)
            continue;
        if (!PyTuple_Check(key) || PyTuple_GET_SIZE(key) != 2 || !PyUnicode_Check(PyTuple_GET_ITEM(key, 0))) {
            PyErr_SetString(PyExc_TypeError, "tally_terms() term keys must be (term, kind) tuples");
            goto done;
        }
        size_t slot = ((uintptr_t)entry >> 4) & (slots - 1);
        while (slot_entry[slot] && slot_entry[slot] != entry)
            slot = (slot + 1) & (slots - 1);
        if (slot_entry[slot]) {
            tallies[slot_tally[slot]].count++;
            continue;
        }
        slot_entry[slot] = entry;
        slot_tally[slot] = distinct;
        TermTally *tally = &tallies[distinct++];
        tally->key = key;
        tally->count = 1;
        tally->has_idf = PyTuple_GET_ITEM(entry, 3) != Py_None;
        tally->idf = tally->has_idf ? PyFloat_AsDouble(PyTuple_GET_ITEM(entry, 3)) : 0.0;
        if (tally->idf == -1.0 && PyErr_Occurred())
            goto done;
    }
    for (Py_ssize_t d = 0; d < distinct; d++) {
        PyObject *count = PyLong_FromLongLong(tallies[d].count);
        if (!count)
            goto done;
        PyObject *stored = PyDict_SetDefault(counts, tallies[d].key, count);
        Py_DECREF(count);
        if (!stored)
            goto done;
        if (PyDict_GET_SIZE(counts) != d + 1) { /* an equal key from another entry: merge by term string */
            index_of = PyDict_New();
            if (!index_of)
                goto done;
            PyDict_Clear(counts);
            Py_ssize_t merged = 0;
            for (Py_ssize_t t = 0; t < distinct; t++) {
                PyObject *term = PyTuple_GET_ITEM(tallies[t].key, 0);
                PyObject *known = PyDict_GetItemWithError(index_of, term);
                if (known) {
                    tallies[PyLong_AsSsize_t(known)].count += tallies[t].count;
                    continue;
                }
                PyObject *position = PyErr_Occurred() ? NULL : PyLong_FromSsize_t(merged);
                if (!position || PyDict_SetItem(index_of, term, position) < 0) {
                    Py_XDECREF(position);
                    goto done;
                }
                Py_DECREF(position);
                tallies[merged++] = tallies[t];
            }
            distinct = merged;
            d = -1; /* count again, from the merged tallies */
            continue;
        }
    }
    for (Py_ssize_t d = 0; d < distinct; d++) {
        TermTally *tally = &tallies[d];
        if (tally->has_idf) {
            kept += tally->count;
            tally->negative_score = (double)(-tally->count) * tally->idf; /* Python's -count * idf */
            ranked[candidates++] = tally;
        }
    }
    if (candidates && top_k > 0) {
        qsort(ranked, (size_t)candidates, sizeof(TermTally *), compare_ranked);
        if (PyErr_Occurred()) /* PyUnicode_Compare failed */
            goto done;
        for (Py_ssize_t r = 0; r < candidates && r < top_k; r++) {
            PyObject *weight = round6(-ranked[r]->negative_score / (double)kept);
            PyObject *pair = weight ? PyTuple_Pack(2, PyTuple_GET_ITEM(ranked[r]->key, 0), weight) : NULL;
            Py_XDECREF(weight);
            if (!pair || PyList_Append(keywords, pair) < 0) {
                Py_XDECREF(pair);
                goto done;
            }
            Py_DECREF(pair);
        }
    }
    result = PyTuple_Pack(2, counts, keywords);
done:
    Py_DECREF(fast);
    Py_XDECREF(index_of);
    Py_XDECREF(counts);
    Py_XDECREF(keywords);
    PyMem_Free(tallies);
    PyMem_Free(ranked);
    PyMem_Free(slot_entry);
    PyMem_Free(slot_tally);
    return result;
}

/* ---------------------------------------------------------------- sentiment_pass() */

/* The tables of transforms.sentiment.SentimentScorer: its _pass_tables, a _PassTables named tuple read
   by position (the field order there is the order here). */
typedef struct {
    PyObject *join_starts, *join_pairs, *join_prefixes; /* sets of str */
    PyObject *base;                                     /* dict: str -> (kind, weight) */
    PyObject *degree_words;                             /* dict: str -> float */
    PyObject *boundary_chars;                           /* set of one-character str */
    long word, emoticon, negation, degree, contrast, prefix; /* token kinds */
    Py_ssize_t degree_window, negation_window;
    double negated_factor, contrast_factor;
} SentimentTables;

static int
read_sentiment_tables(PyObject *tables, SentimentTables *out)
{
    if (!PyTuple_Check(tables) || PyTuple_GET_SIZE(tables) != 16) {
        PyErr_SetString(PyExc_TypeError, "sentiment_pass() tables must be a sentiment._PassTables");
        return -1;
    }
    PyObject **item = &PyTuple_GET_ITEM(tables, 0);
    out->join_starts = item[0];
    out->join_pairs = item[1];
    out->join_prefixes = item[2];
    out->base = item[3];
    out->degree_words = item[4];
    out->boundary_chars = item[5];
    if (!PyAnySet_Check(out->join_starts) || !PyAnySet_Check(out->join_pairs) ||
        !PyAnySet_Check(out->join_prefixes) || !PyDict_Check(out->base) || !PyDict_Check(out->degree_words) ||
        !PyAnySet_Check(out->boundary_chars)) {
        PyErr_SetString(PyExc_TypeError, "sentiment_pass() tables hold sets and dicts in a fixed order");
        return -1;
    }
    long *kinds[6] = {&out->word, &out->emoticon, &out->negation, &out->degree, &out->contrast, &out->prefix};
    for (int k = 0; k < 6; k++)
        if ((*kinds[k] = PyLong_AsLong(item[6 + k])) == -1 && PyErr_Occurred())
            return -1;
    if ((out->degree_window = PyLong_AsSsize_t(item[12])) == -1 && PyErr_Occurred())
        return -1;
    if ((out->negation_window = PyLong_AsSsize_t(item[13])) == -1 && PyErr_Occurred())
        return -1;
    if ((out->negated_factor = PyFloat_AsDouble(item[14])) == -1.0 && PyErr_Occurred())
        return -1;
    if ((out->contrast_factor = PyFloat_AsDouble(item[15])) == -1.0 && PyErr_Occurred())
        return -1;
    return 0;
}

/* Whether a token starting with a clause boundary lies strictly between positions start and end. */
static int
crosses_boundary(const SentimentTables *tables, PyObject **tokens, Py_ssize_t start, Py_ssize_t end)
{
    for (Py_ssize_t i = start + 1; i < end; i++) {
        if (i < 0 || PyUnicode_GET_LENGTH(tokens[i]) == 0)
            continue;
        Py_UCS4 first = PyUnicode_READ_CHAR(tokens[i], 0);
        if (first >= 0x10000)
            continue; /* no boundary character is outside the BMP */
        if (!char_strings[first]) {
            PyObject *one = PyUnicode_Substring(tokens[i], 0, 1);
            if (!one)
                return -1;
            char_strings[first] = one;
        }
        int found = PySet_Contains(tables->boundary_chars, char_strings[first]);
        if (found)
            return found;
    }
    return 0;
}

/* SentimentScorer._join: the weight of the longest lexicon word made of tokens[index:index + k]
   (2 <= k <= 4) and k; *step 0 when there is none. */
static int
join_tokens(const SentimentTables *tables, PyObject **tokens, Py_ssize_t count, Py_ssize_t index,
            double *value, Py_ssize_t *step)
{
    *step = 0;
    PyObject *joined = tokens[index];
    Py_INCREF(joined);
    Py_ssize_t last = index + 4 < count ? index + 4 : count;
    for (Py_ssize_t end = index + 1; end < last; end++) {
        PyObject *longer = PyUnicode_Concat(joined, tokens[end]);
        Py_DECREF(joined);
        if (!longer)
            return -1;
        joined = longer;
        PyObject *entry = PyDict_GetItemWithError(tables->base, joined);
        if (entry) {
            if (!PyTuple_Check(entry) || PyTuple_GET_SIZE(entry) < 2) {
                Py_DECREF(joined);
                PyErr_SetString(PyExc_TypeError, "lexicon entries must be (kind, weight)");
                return -1;
            }
            if (PyLong_AsLong(PyTuple_GET_ITEM(entry, 0)) == tables->word) {
                *value = PyFloat_AsDouble(PyTuple_GET_ITEM(entry, 1));
                *step = end - index + 1;
            }
        }
        int is_prefix = PyErr_Occurred() ? -1 : PySet_Contains(tables->join_prefixes, joined);
        if (is_prefix <= 0) {
            Py_DECREF(joined);
            return is_prefix;
        }
    }
    Py_DECREF(joined);
    return 0;
}

#define FAR_AWAY (-((Py_ssize_t)1 << 30))

/* sentiment_pass(tokens, entries, tables) -> (total, hits): SentimentScorer._pass_entries_reference in
   C, the same arithmetic in the same order. entries[i] starts with tokens[i]'s (kind, weight). */
static PyObject *
sentiment_pass(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyList_Check(args[0]) || !PyList_Check(args[1]) ||
        PyList_GET_SIZE(args[0]) != PyList_GET_SIZE(args[1])) {
        PyErr_SetString(PyExc_TypeError, "sentiment_pass(tokens, entries, tables): two lists of one length");
        return NULL;
    }
    SentimentTables tables;
    if (read_sentiment_tables(args[2], &tables) < 0)
        return NULL;
    PyObject **tokens = PySequence_Fast_ITEMS(args[0]);
    PyObject **entries = PySequence_Fast_ITEMS(args[1]);
    Py_ssize_t count = PyList_GET_SIZE(args[0]);
    long *kinds = PyMem_Malloc(sizeof(long) * (count ? count : 1));
    if (!kinds)
        return PyErr_NoMemory();
    for (Py_ssize_t i = 0; i < count; i++) {
        if (!PyTuple_Check(entries[i]) || PyTuple_GET_SIZE(entries[i]) < 2 || !PyUnicode_Check(tokens[i])) {
            PyMem_Free(kinds);
            PyErr_SetString(PyExc_TypeError, "sentiment_pass() takes str tokens and (kind, weight, ...) entries");
            return NULL;
        }
        kinds[i] = PyLong_AsLong(PyTuple_GET_ITEM(entries[i], 0));
        if (kinds[i] == -1 && PyErr_Occurred()) {
            PyMem_Free(kinds);
            return NULL;
        }
    }
    double total = 0.0, degree = 1.0;
    long hits = 0;
    Py_ssize_t negation_at = FAR_AWAY, degree_at = FAR_AWAY, skip_to = 0;
    int negated = 0, failed = 0;
    for (Py_ssize_t index = 0; index < count && !failed; index++) {
        long kind = kinds[index];
        if (kind == 0 || index < skip_to)
            continue;
        PyObject *token = tokens[index];
        double value = 0.0;
        int joined_word = 0;
        int is_start = index + 1 < count ? PySet_Contains(tables.join_starts, token) : 0;
        if (is_start < 0)
            break;
        if (is_start) {
            PyObject *pair = PyUnicode_Concat(token, tokens[index + 1]);
            int is_pair = pair ? PySet_Contains(tables.join_pairs, pair) : -1;
            Py_XDECREF(pair);
            if (is_pair < 0)
                break;
            Py_ssize_t step = 0;
            if (is_pair && join_tokens(&tables, tokens, count, index, &value, &step) < 0)
                break;
            if (step) {
                kind = tables.word;
                skip_to = index + step;
                joined_word = 1;
            } else if (kind == tables.prefix) {
                continue;
            }
        }
        if (!joined_word)
            value = PyFloat_AsDouble(PyTuple_GET_ITEM(entries[index], 1));
        if (value == -1.0 && PyErr_Occurred())
            break;
        if (kind == tables.word) {
            if (index + 1 < count && kinds[index + 1] == tables.word) {
                PyObject *multiplier = PyDict_GetItemWithError(tables.degree_words, token);
                if (multiplier) { /* 好/真 before a sentiment word act as degree words: 好开心 */
                    double factor = PyFloat_AsDouble(multiplier);
                    degree = index - degree_at <= tables.degree_window ? degree * factor : factor;
                    degree_at = index;
                    continue;
                }
                if (PyErr_Occurred())
                    break;
            }
            if (index - degree_at <= tables.degree_window) {
                int crosses = crosses_boundary(&tables, tokens, degree_at, index);
                if (crosses < 0)
                    break;
                if (!crosses)
                    value *= degree;
            }
            if (negated && index - negation_at <= tables.negation_window) {
                int crosses = crosses_boundary(&tables, tokens, negation_at, index);
                if (crosses < 0)
                    break;
                if (!crosses)
                    value *= tables.negated_factor;
            }
            total += value;
            hits++;
            negation_at = degree_at = FAR_AWAY;
            negated = 0;
        } else if (kind == tables.emoticon) {
            total += value;
            hits++;
        } else if (kind == tables.negation) {
            int same_clause = 0;
            if (index - negation_at <= tables.negation_window) {
                int crosses = crosses_boundary(&tables, tokens, negation_at, index);
                if (crosses < 0)
                    break;
                same_clause = !crosses;
            }
            negated = same_clause ? !negated : 1; /* 不是不好: two negations cancel */
            negation_at = index;
        } else if (kind == tables.degree) {
            int same_clause = 0;
            if (index - degree_at <= tables.degree_window) {
                int crosses = crosses_boundary(&tables, tokens, degree_at, index);
                if (crosses < 0)
                    break;
                same_clause = !crosses;
            }
            degree = same_clause ? degree * value : value;
            degree_at = index;
        } else if (kind == tables.contrast) {
            total *= tables.contrast_factor;
        }
    }
    PyMem_Free(kinds);
    if (PyErr_Occurred())
        return NULL;
    return Py_BuildValue("(dl)", total, hits);
}

/* ---------------------------------------------------------------- lookup_entries() */

/* lookup_entries(memo, tokens) -> (entries, missing): [memo.get(token) for token in tokens] and how
   many of those are None, without a Python call per token (transforms.post_text's memo). The memo is
   a plain dict and the tokens plain str, so no lookup runs Python code that could change the list. */
static PyObject *
lookup_entries(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyDict_CheckExact(args[0]) || !PyList_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "lookup_entries(memo, tokens): a dict and a list");
        return NULL;
    }
    PyObject *memo = args[0], *tokens = args[1];
    Py_ssize_t count = PyList_GET_SIZE(tokens), missing = 0;
    PyObject *entries = PyList_New(count);
    if (!entries)
        return NULL;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *token = PyList_GET_ITEM(tokens, i);
        if (!PyUnicode_CheckExact(token)) {
            Py_DECREF(entries);
            PyErr_SetString(PyExc_TypeError, "lookup_entries() tokens must be str");
            return NULL;
        }
        PyObject *entry = PyDict_GetItemWithError(memo, token);
        if (!entry) {
            if (PyErr_Occurred()) {
                Py_DECREF(entries);
                return NULL;
            }
            entry = Py_None;
            missing++;
        }
        Py_INCREF(entry);
        PyList_SET_ITEM(entries, i, entry);
    }
    return Py_BuildValue("(Nn)", entries, missing);
}

static PyMethodDef module_methods[] = {
    {"lookup_entries", (PyCFunction)(void (*)(void))lookup_entries, METH_FASTCALL,
     "lookup_entries(memo, tokens) -> (entries, missing): memo.get of each token, and how many were None."},
    {"sentiment_pass", (PyCFunction)(void (*)(void))sentiment_pass, METH_FASTCALL,
     "sentiment_pass(tokens, entries, tables) -> (total, hits): SentimentScorer's lexicon pass."},
    {"tally_terms", (PyCFunction)(void (*)(void))tally_terms, METH_FASTCALL,
     "tally_terms(entries, top_k) -> (counts, keywords): term counts and top keywords of one post."},
    {"scan", (PyCFunction)(void (*)(void))scan, METH_FASTCALL,
     "scan(text, match, han_firsts, rules, cutter) -> list[str]"},
    {NULL},
};

static struct PyModuleDef module_definition = {
    PyModuleDef_HEAD_INIT, "transforms._fastseg", "C fast paths of the text transform.", -1, module_methods,
};

PyMODINIT_FUNC
PyInit__fastseg(void)
{
    if (PyType_Ready(&DictionaryType) < 0)
        return NULL;
    PyObject *module = PyModule_Create(&module_definition);
    if (!module)
        return NULL;
    if (PyType_Ready(&NormalizerType) < 0 || PyModule_AddType(module, &DictionaryType) < 0 ||
        PyModule_AddType(module, &NormalizerType) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
