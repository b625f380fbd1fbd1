/* nna-emu: bounded task store (chunked slab + open-addressing id hash +
 * per-workspace creation-order index) and the agent table. */
#include "emu_internal.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ slab */
emu_task *emu_task_at(emu_state *st, uint32_t slot)
{
    return &st->chunks[slot >> EMU_CHUNK_BITS][slot & (EMU_CHUNK - 1)];
}

static uint64_t id_hash(const emu_uuid *id)
{
    uint64_t a, b;
    memcpy(&a, id->b, 8);
    memcpy(&b, id->b + 8, 8);
    uint64_t x = a ^ (b * 0x9e3779b97f4a7c15ULL);
    x ^= x >> 31;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 29;
    return x;
}

static int hash_grow(emu_state *st)
{
    size_t ncap = st->hcap ? st->hcap * 2 : 1024;
    if (!st->hcap) {
        /* Pre-size for the task cap (bounded) so that a benchmark never pays for a
         * rehash while the store fills up; calloc'd pages are only touched when used. */
        uint64_t want = st->set.max_tasks < (1u << 24) ? st->set.max_tasks : (1u << 24);
        while (ncap < want * 2)
            ncap *= 2;
    }
    uint32_t *nh = calloc(ncap, sizeof *nh);
    if (!nh)
        return -1;
    for (size_t i = 0; i < st->hcap; i++) {
        uint32_t v = st->hash[i];
        if (!v)
            continue;
        size_t j = id_hash(&emu_task_at(st, v - 1)->id) & (ncap - 1);
        while (nh[j])
            j = (j + 1) & (ncap - 1);
        nh[j] = v;
    }
    free(st->hash);
    st->hash = nh;
    st->hcap = ncap;
    return 0;
}

emu_task *emu_task_find(emu_state *st, const emu_uuid *id, uint32_t *slot)
{
    if (!st->hcap)
        return NULL;
    size_t j = id_hash(id) & (st->hcap - 1);
    while (st->hash[j]) {
        emu_task *t = emu_task_at(st, st->hash[j] - 1);
        if (emu_uuid_eq(&t->id, id)) {
            if (slot)
                *slot = st->hash[j] - 1;
            return t;
        }
        j = (j + 1) & (st->hcap - 1);
    }
    return NULL;
}

static void hash_remove(emu_state *st, uint32_t slot)
{
    emu_task *t = emu_task_at(st, slot);
    size_t mask = st->hcap - 1;
    size_t j = id_hash(&t->id) & mask;
    while (st->hash[j] && st->hash[j] != slot + 1)
        j = (j + 1) & mask;
    if (!st->hash[j])
        return;
    /* backward-shift deletion */
    size_t i = j;
    for (;;) {
        st->hash[i] = 0;
        size_t k = i;
        for (;;) {
            k = (k + 1) & mask;
            if (!st->hash[k])
                return;
            size_t home = id_hash(&emu_task_at(st, st->hash[k] - 1)->id) & mask;
            /* can the entry at k move to i? yes if home is not in (i, k] cyclically */
            if ((i <= k) ? (home <= i || home > k) : (home <= i && home > k))
                break;
        }
        st->hash[i] = st->hash[k];
        i = k;
    }
}

static int alloc_slot(emu_state *st, uint32_t *slot)
{
    if (st->nfree) {
        *slot = st->free_slots[--st->nfree];
        return 0;
    }
    if (st->nslots >= UINT32_MAX - 1)
        return -1;
    if ((st->nslots >> EMU_CHUNK_BITS) >= st->nchunks) {
        emu_task **nc = realloc(st->chunks, (st->nchunks + 1) * sizeof *nc);
        if (!nc)
            return -1;
        st->chunks = nc;
        st->chunks[st->nchunks] = malloc((size_t)EMU_CHUNK * sizeof(emu_task));
        if (!st->chunks[st->nchunks])
            return -1;
        st->nchunks++;
    }
    *slot = st->nslots++;
    return 0;
}

static void free_extra(emu_task_extra *x)
{
    if (!x)
        return;
    for (size_t i = 0; i < x->n; i++)
        free(x->msgs[i].text);
    free(x->msgs);
    free(x);
}

/* ------------------------------------------------------- order index */
static int order_push(emu_workspace *w, uint64_t seq, uint32_t slot)
{
    if (w->olen == w->ocap) {
        if (w->ohead > w->olen / 2 && w->ohead > 0) {
            memmove(w->order, w->order + w->ohead, (w->olen - w->ohead) * sizeof *w->order);
            w->olen -= w->ohead;
            w->ohead = 0;
        } else {
            size_t nc = w->ocap ? w->ocap * 2 : 1024;
            emu_order_ent *no = realloc(w->order, nc * sizeof *no);
            if (!no)
                return -1;
            w->order = no;
            w->ocap = nc;
        }
    }
    w->order[w->olen].seq = seq;
    w->order[w->olen].slot = slot;
    w->order[w->olen].pad = 0;
    w->olen++;
    return 0;
}

static void order_compact(emu_workspace *w)
{
    size_t o = 0;
    for (size_t i = w->ohead; i < w->olen; i++)
        if (w->order[i].slot != UINT32_MAX)
            w->order[o++] = w->order[i];
    w->olen = o;
    w->ohead = 0;
    w->otombs = 0;
}

size_t emu_order_find_lt(const emu_workspace *w, uint64_t seq)
{
    size_t lo = w->ohead, hi = w->olen;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (w->order[mid].seq < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void order_remove(emu_workspace *w, uint64_t seq)
{
    size_t i = emu_order_find_lt(w, seq);
    if (i >= w->olen || w->order[i].seq != seq)
        return;
    w->order[i].slot = UINT32_MAX;
    w->otombs++;
    while (w->ohead < w->olen && w->order[w->ohead].slot == UINT32_MAX) {
        w->ohead++;
        w->otombs--;
    }
    if (w->otombs > 1024 && w->otombs > (w->olen - w->ohead) / 4)
        order_compact(w);
}

void emu_task_evict(emu_state *st, uint32_t slot)
{
    emu_task *t = emu_task_at(st, slot);
    if (!(t->flags & TF_LIVE))
        return;
    emu_task_unlink_admission(st, slot);
    hash_remove(st, slot);
    order_remove(&st->ws[t->ws], t->seq);
    free_extra(t->extra);
    t->extra = NULL;
    t->flags = 0;
    if (st->nfree == st->cap_free) {
        size_t nc = st->cap_free ? st->cap_free * 2 : 1024;
        uint32_t *nf = realloc(st->free_slots, nc * sizeof *nf);
        if (nf) {
            st->free_slots = nf;
            st->cap_free = nc;
        }
    }
    if (st->nfree < st->cap_free)
        st->free_slots[st->nfree++] = slot;
    st->ntasks--;
    st->evicted++;
}

/* Evict one task: the oldest finished one found near the head of any workspace's
 * order; if none is finished there, the oldest task overall. */
static void evict_one(nna_emu *e, int64_t now)
{
    emu_state *st = &e->st;
    uint32_t best = UINT32_MAX, oldest = UINT32_MAX;
    uint64_t best_seq = UINT64_MAX, oldest_seq = UINT64_MAX;
    for (size_t wi = 0; wi < st->nws; wi++) {
        emu_workspace *w = &st->ws[wi];
        size_t scanned = 0;
        for (size_t i = w->ohead; i < w->olen && scanned < 4096; i++) {
            uint32_t s = w->order[i].slot;
            if (s == UINT32_MAX)
                continue;
            if (w->order[i].seq > best_seq)
                break;
            scanned++;
            if (w->order[i].seq < oldest_seq) {
                oldest_seq = w->order[i].seq;
                oldest = s;
            }
            emu_task_advance(e, s, now);
            if (emu_status_terminal(emu_task_at(st, s)->status)) {
                if (w->order[i].seq < best_seq) {
                    best_seq = w->order[i].seq;
                    best = s;
                }
                break;
            }
        }
    }
    if (best == UINT32_MAX)
        best = oldest;
    if (best != UINT32_MAX)
        emu_task_evict(st, best);
}

emu_task *emu_task_new(nna_emu *e, int ws, uint32_t agent, uint32_t *slotp)
{
    emu_state *st = &e->st;
    int64_t now = emu_now_ms();
    uint64_t cap = st->set.max_tasks ? st->set.max_tasks : 1;
    while (st->ntasks >= cap && st->ntasks > 0)
        evict_one(e, now);
    if ((st->ntasks + 1) * 2 > st->hcap && hash_grow(st) != 0)
        return NULL;
    uint32_t slot;
    if (alloc_slot(st, &slot) != 0)
        return NULL;
    emu_task *t = emu_task_at(st, slot);
    memset(t, 0, sizeof *t);
    if (order_push(&st->ws[ws], st->task_seq + 1, slot) != 0)
        return NULL; /* out of memory: the slot stays unused */
    t->seq = ++st->task_seq;
    emu_uuid_gen(&e->id_rng, &t->id); /* 122 random bits: collisions are not a concern */
    if (now < st->last_created_ms)
        now = st->last_created_ms;
    st->last_created_ms = now;
    t->created_ms = t->updated_ms = now;
    t->t_next = EMU_T_INF;
    t->agent = agent;
    t->ws = (uint16_t)ws;
    t->flags = TF_LIVE;
    size_t j = id_hash(&t->id) & (st->hcap - 1);
    while (st->hash[j])
        j = (j + 1) & (st->hcap - 1);
    st->hash[j] = slot + 1;
    st->ntasks++;
    *slotp = slot;
    return t;
}

void emu_tasks_clear(emu_state *st)
{
    for (size_t c = 0; c < st->nchunks; c++) {
        size_t base = c << EMU_CHUNK_BITS;
        size_t n = st->nslots > base ? st->nslots - base : 0;
        if (n > EMU_CHUNK)
            n = EMU_CHUNK;
        for (size_t i = 0; i < n; i++)
            if (st->chunks[c][i].flags & TF_LIVE)
                free_extra(st->chunks[c][i].extra);
        free(st->chunks[c]);
    }
    free(st->chunks);
    st->chunks = NULL;
    st->nchunks = 0;
    st->nslots = 0;
    free(st->free_slots);
    st->free_slots = NULL;
    st->nfree = st->cap_free = 0;
    free(st->hash);
    st->hash = NULL;
    st->hcap = 0;
    st->ntasks = 0;
    for (size_t wi = 0; wi < st->nws; wi++) {
        emu_workspace *w = &st->ws[wi];
        free(w->order);
        w->order = NULL;
        w->ohead = w->olen = w->ocap = w->otombs = 0;
    }
    for (size_t ai = 0; ai < st->nagents; ai++) {
        st->agents[ai].nactive = 0;
        st->agents[ai].qlen = st->agents[ai].qhead = 0;
    }
}

/* ------------------------------------------------------------ agents */
emu_agent *emu_agent_find(emu_state *st, const emu_uuid *id, size_t *idx)
{
    for (size_t i = 0; i < st->nagents; i++)
        if (emu_uuid_eq(&st->agents[i].id, id)) {
            if (idx)
                *idx = i;
            return &st->agents[i];
        }
    return NULL;
}

emu_agent *emu_agent_add(emu_state *st)
{
    if (st->nagents == st->cap_agents) {
        size_t nc = st->cap_agents ? st->cap_agents * 2 : 16;
        emu_agent *na = realloc(st->agents, nc * sizeof *na);
        if (!na)
            return NULL;
        st->agents = na;
        st->cap_agents = nc;
    }
    emu_agent *a = &st->agents[st->nagents++];
    memset(a, 0, sizeof *a);
    a->concurrency = -1;
    a->seq = ++st->agent_seq;
    return a;
}

int emu_agent_name_taken(emu_state *st, int ws, const char *name, const emu_uuid *except_group)
{
    for (size_t i = 0; i < st->nagents; i++) {
        emu_agent *a = &st->agents[i];
        if (a->ws != ws || strcmp(a->name, name) != 0)
            continue;
        if (except_group && emu_uuid_eq(&a->group, except_group))
            continue;
        return 1;
    }
    return 0;
}

void emu_agent_free(emu_agent *a)
{
    free(a->name);
    cJSON_Delete(a->config);
    free(a->config_raw);
    free(a->active);
    free(a->queue);
}
