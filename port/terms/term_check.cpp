// Bounds-checked structural check of an ETF term, before ei (which trusts its input) decodes it.
#include "terms/term_check.hpp"

#include <cstdint>
#include <vector>

namespace erlang_python {
namespace {

// One nesting level: the terms still to read there, and for a fun's free
// variables the offset they must end at (0 for any other level).
struct level {
    std::uint64_t left;
    std::size_t end;
};

// The nesting levels being read: the first 32 in place, so checking a
// usual term allocates nothing; deeper ones on the heap.
class level_stack {
public:
    explicit level_stack(level first) { push_back(first); }
    bool empty() const { return size_ == 0; }
    std::size_t size() const { return size_; }
    level &back() { return size_ <= in_place ? near_[size_ - 1] : far_[size_ - 1 - in_place]; }
    void push_back(level l) {
        if (size_ < in_place) {
            near_[size_] = l;
        } else {
            far_.push_back(l);
        }
        ++size_;
    }
    void pop_back() {
        --size_;
        if (size_ >= in_place) {
            far_.pop_back();
        }
    }

private:
    static constexpr std::size_t in_place = 32;
    level near_[in_place];
    std::vector<level> far_;
    std::size_t size_ = 0;
};

class scanner {
public:
    scanner(const char *data, std::size_t size, std::size_t max_depth)
        : p_(reinterpret_cast<const unsigned char *>(data)), size_(size), max_depth_(max_depth) {}

    term_check_result run() {
        term_check_result r;
        if (size_ == 0 || p_[0] != 131) {
            return fail("missing ETF version byte 131");
        }
        pos_ = 1;
        // Each entry counts the terms still to read at one nesting level.
        level_stack stack({1, 0});
        while (!stack.empty()) {
            if (stack.back().left == 0) {
                // A fun's free variables must end exactly where its Size says.
                if (stack.back().end != 0 && pos_ != stack.back().end) {
                    return fail("bad fun size");
                }
                stack.pop_back();
                continue;
            }
            --stack.back().left;
            std::uint64_t children = 0;
            fun_end_ = 0;
            if (!term(children)) {
                return result_;
            }
            if (children == 0 && fun_end_ != 0 && pos_ != fun_end_) {
                return fail("bad fun size");
            }
            if (children != 0) {
                // A child takes at least one byte: an arity past the end is a lie.
                if (children > size_ - pos_) {
                    return fail("arity larger than the remaining input");
                }
                stack.push_back({children, fun_end_});
                if (stack.size() - 1 > depth_) {
                    depth_ = stack.size() - 1;
                    if (depth_ > max_depth_) {
                        return fail("term nested deeper than the maximum depth");
                    }
                }
            }
        }
        if (pos_ != size_) {
            return fail("trailing bytes after the term");
        }
        r.ok = true;
        r.offset = pos_;
        r.depth = depth_;
        return r;
    }

private:
    bool need(std::size_t n) {
        if (size_ - pos_ < n) {
            fail("truncated term");
            return false;
        }
        return true;
    }
    std::uint32_t u8() { return p_[pos_++]; }
    std::uint32_t u16() {
        std::uint32_t v = (std::uint32_t(p_[pos_]) << 8) | p_[pos_ + 1];
        pos_ += 2;
        return v;
    }
    std::uint32_t u32() {
        std::uint32_t v = (std::uint32_t(p_[pos_]) << 24) | (std::uint32_t(p_[pos_ + 1]) << 16)
                          | (std::uint32_t(p_[pos_ + 2]) << 8) | p_[pos_ + 3];
        pos_ += 4;
        return v;
    }
    bool skip(std::size_t n) {
        if (!need(n)) {
            return false;
        }
        pos_ += n;
        return true;
    }
    // An atom's name after its tag. Erlang allows at most 255 characters, and
    // ei writes past its buffer converting a longer latin-1 name to UTF-8.
    bool atom_name(unsigned tag) {
        bool small = tag == 's' || tag == 'w';
        if (!need(small ? 1 : 2)) {
            return false;
        }
        std::size_t len = small ? u8() : u16();
        if (!need(len)) {
            return false;
        }
        std::size_t chars = len;
        if (tag == 'v' || tag == 'w') {
            chars = 0;
            for (std::size_t i = 0; i < len; ++i) {
                chars += (p_[pos_ + i] & 0xc0) != 0x80; // count UTF-8 lead bytes only
            }
        }
        if (chars > 255) {
            fail("atom longer than 255 characters");
            return false;
        }
        pos_ += len;
        return true;
    }
    bool atom() {
        if (!need(1)) {
            return false;
        }
        unsigned tag = u8();
        switch (tag) {
            case 'd':
            case 'v':
            case 's':
            case 'w':
                return atom_name(tag);
            default:
                fail("expected an atom");
                return false;
        }
    }
    // The old index and old uniq of a fun: ei decodes them as integers.
    bool integer() {
        if (!need(1)) {
            return false;
        }
        switch (u8()) {
            case 'a':
                return skip(1);
            case 'b':
                return skip(4);
            default:
                fail("expected an integer");
                return false;
        }
    }
    bool pid() {
        if (!need(1)) {
            return false;
        }
        switch (u8()) {
            case 'g':
                return atom() && skip(9);
            case 'X':
                return atom() && skip(12);
            default:
                fail("expected a pid");
                return false;
        }
    }

    // Reads one term's own bytes; sets children to the number of sub-terms that follow.
    bool term(std::uint64_t &children) {
        if (!need(1)) {
            return false;
        }
        unsigned tag = u8();
        switch (tag) {
            case 'a': // SMALL_INTEGER_EXT
                return skip(1);
            case 'b': // INTEGER_EXT
                return skip(4);
            case 'c': // FLOAT_EXT
                return skip(31);
            case 'F': // NEW_FLOAT_EXT
                return skip(8);
            case 'd':
            case 'v':
            case 's':
            case 'w':
                return atom_name(tag);
            case 'h': // SMALL_TUPLE_EXT
                if (!need(1)) {
                    return false;
                }
                children = u8();
                return true;
            case 'i': // LARGE_TUPLE_EXT
                if (!need(4)) {
                    return false;
                }
                children = u32();
                return true;
            case 'j': // NIL_EXT
                return true;
            case 'k': // STRING_EXT
                return need(2) && skip(u16());
            case 'l': // LIST_EXT: elements, then the tail
                if (!need(4)) {
                    return false;
                }
                children = std::uint64_t(u32()) + 1;
                return true;
            case 'm': // BINARY_EXT
                return need(4) && skip(u32());
            case 'M': { // BIT_BINARY_EXT
                if (!need(5)) {
                    return false;
                }
                std::uint32_t len = u32();
                std::uint32_t bits = u8();
                if (bits < 1 || bits > 8 || len == 0) {
                    fail("bad bit count in a bitstring");
                    return false;
                }
                return skip(len);
            }
            case 'n': // SMALL_BIG_EXT
                return need(1) && skip(std::size_t(u8()) + 1);
            case 'o': // LARGE_BIG_EXT
                return need(4) && skip(std::size_t(u32()) + 1);
            case 't': // MAP_EXT
                if (!need(4)) {
                    return false;
                }
                children = std::uint64_t(u32()) * 2;
                return true;
            case 'g': // PID_EXT
                return atom() && skip(9);
            case 'X': // NEW_PID_EXT
                return atom() && skip(12);
            case 'f': // PORT_EXT
                return atom() && skip(5);
            case 'Y': // NEW_PORT_EXT
                return atom() && skip(8);
            case 'x': // V4_PORT_EXT
                return atom() && skip(12);
            case 'e': // REFERENCE_EXT
                return atom() && skip(5);
            case 'r':   // NEW_REFERENCE_EXT
            case 'Z': { // NEWER_REFERENCE_EXT
                if (!need(2)) {
                    return false;
                }
                std::uint32_t words = u16();
                if (words > 5) {
                    fail("reference with too many words");
                    return false;
                }
                return atom() && skip((tag == 'r' ? 1 : 4) + 4 * std::size_t(words));
            }
            case 'p': { // NEW_FUN_EXT: Size counts itself
                // ei reads the fields after Size without looking at it, so
                // they must lie inside the fun; the free variables follow as
                // children and must end exactly at Size (checked in run()).
                std::size_t start = pos_;
                if (!need(4)) {
                    return false;
                }
                std::uint32_t total = u32();
                if (total < 4 + 1 + 16 + 4 + 4) { // Size, Arity, Uniq, Index, NumFree
                    fail("bad fun size");
                    return false;
                }
                if (!need(total - 4)) {
                    return false;
                }
                pos_ += 1 + 16 + 4;
                std::uint32_t free_vars = u32();
                if (!atom() || !integer() || !integer() || !pid()) {
                    return false;
                }
                fun_end_ = start + total;
                if (pos_ > fun_end_) {
                    fail("bad fun size");
                    return false;
                }
                children = free_vars;
                return true;
            }
            case 'q': // EXPORT_EXT: module, function, arity
                children = 3;
                return true;
            default:
                fail("unsupported ETF tag " + std::to_string(tag));
                return false;
        }
    }

    term_check_result fail(std::string why) {
        result_.ok = false;
        result_.error = std::move(why);
        result_.offset = pos_;
        result_.depth = depth_;
        return result_;
    }

    const unsigned char *p_;
    std::size_t size_;
    std::size_t max_depth_;
    std::size_t pos_ = 0;
    std::size_t depth_ = 0;
    std::size_t fun_end_ = 0; // set by term() for a fun: where its free variables end
    term_check_result result_;
};

// The short scans of small_flat_term and small_call_term: every length is
// bounded, every term is a leaf or one of the two shapes.
class small_scan {
public:
    small_scan(const char *data, std::size_t size)
        : p_(reinterpret_cast<const unsigned char *>(data)), size_(size) {}

    // A leaf or a tuple of leaves, nesting at most max_depth levels.
    bool flat(std::size_t max_depth) {
        if (!need(2) || p_[0] != 131) {
            return false;
        }
        pos_ = 1;
        if (p_[1] == 'h') {
            if (!need(3)) {
                return false;
            }
            std::size_t n = p_[2];
            if (n != 0 && max_depth == 0) {
                return false;
            }
            pos_ = 3;
            for (std::size_t i = 0; i < n; ++i) {
                if (!leaf()) {
                    return false;
                }
            }
        } else if (!leaf()) {
            return false;
        }
        return pos_ == size_;
    }

    // A call request of the usual shape: two levels.
    bool call() {
        if (!need(3) || p_[0] != 131 || p_[1] != 'h' || p_[2] != 4) {
            return false;
        }
        pos_ = 3;
        if (!at('m') || !leaf() || !at('m') || !leaf() || !need(1)) {
            return false;
        }
        switch (p_[pos_]) {
            case 'j':
            case 'k':
                if (!leaf()) {
                    return false;
                }
                break;
            case 'l': {
                if (!need(5)) {
                    return false;
                }
                std::size_t n = u32(pos_ + 1);
                pos_ += 5;
                for (std::size_t i = 0; i < n; ++i) {
                    if (!leaf()) {
                        return false;
                    }
                }
                if (!at('j')) {
                    return false;
                }
                ++pos_;
                break;
            }
            default:
                return false;
        }
        if (!at('t') || !need(5) || u32(pos_ + 1) != 0) {
            return false;
        }
        pos_ += 5;
        return pos_ == size_;
    }

private:
    bool need(std::size_t n) const { return size_ - pos_ >= n; }
    bool at(unsigned char tag) const { return need(1) && p_[pos_] == tag; }
    std::size_t u32(std::size_t at) const {
        return (std::size_t(p_[at]) << 24) | (std::size_t(p_[at + 1]) << 16)
               | (std::size_t(p_[at + 2]) << 8) | p_[at + 3];
    }
    // Passes one term that has no sub-terms, of the kinds above.
    bool leaf() {
        if (!need(1)) {
            return false;
        }
        std::size_t n = 0;
        switch (p_[pos_]) {
            case 'j':
                n = 1;
                break;
            case 'a':
                n = 2;
                break;
            case 'b':
                n = 5;
                break;
            case 'F':
                n = 9;
                break;
            case 's':
            case 'w': // at most 255 bytes: at most 255 characters
                if (!need(2)) {
                    return false;
                }
                n = 2 + std::size_t(p_[pos_ + 1]);
                break;
            case 'k':
                if (!need(3)) {
                    return false;
                }
                n = 3 + ((std::size_t(p_[pos_ + 1]) << 8) | p_[pos_ + 2]);
                break;
            case 'm':
                if (!need(5)) {
                    return false;
                }
                n = 5 + u32(pos_ + 1);
                break;
            default:
                return false;
        }
        if (!need(n)) {
            return false;
        }
        pos_ += n;
        return true;
    }

    const unsigned char *p_;
    std::size_t size_;
    std::size_t pos_ = 0;
};

} // namespace

term_check_result check_term(const char *data, std::size_t size, std::size_t max_depth) {
    return scanner(data, size, max_depth).run();
}

bool small_flat_term(const char *data, std::size_t size, std::size_t max_depth) {
    return small_scan(data, size).flat(max_depth);
}

bool small_call_term(const char *data, std::size_t size) {
    return small_scan(data, size).call();
}

} // namespace erlang_python
