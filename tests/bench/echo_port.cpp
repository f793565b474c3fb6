// The benchmark floor: an echo port built from the project's frame codec and I/O, ei decode + encode, no Python.
//
// Same {packet,4} framing, 13-byte header, hello, reply and callback frames
// as erlang_python_port, so the coordinator can run it in the port's place.
// A call frame {Module, Function, Args, Kwargs} is answered on the reading
// thread (see echo_calls.hpp). One control request drives reverse calls:
//
//   call __bench__:reverse([Count, Threads, Mode])
//     Mode = inline:  the reading thread itself sends Count callback frames
//                     {<<"add">>, [1, 2]} on channel 1, waiting for each result
//                     (Threads must be 1): no thread hand-off, the floor.
//     Mode = threads: Threads threads, each Count callbacks on its own channel
//                     1..Threads; the reading thread hands results over.
//   reply {ok, {ElapsedNs, [RoundTripNs]}}   (an empty list: a callback failed)
//   One reverse run at a time: the next control request waits for the last one.
//
// Options: --max-frame BYTES; --embed starts an embedded CPython before the
// hello (the bare embedded-interpreter start-up); others are ignored.
#include "echo_calls.hpp"
#include "echo_reverse.hpp"
#include "wire/frame_io.hpp"
#include "wire/protocol_fds.hpp"
#include "wire/term_buffer.hpp"
#include "terms/term_check.hpp"

#include <Python.h>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>
#include <unistd.h>

namespace ep = erlang_python;

namespace echo_port {
namespace {

struct reverse_request {
    long long count = 0;
    long long threads = 0;
    std::string mode;
};

bool parse_reverse(const char *body, int index, reverse_request &r) {
    int arity = 0;
    char mode[MAXATOMLEN] = {};
    if (ei_decode_list_header(body, &index, &arity) != 0 || arity != 3
        || ei_decode_longlong(body, &index, &r.count) != 0
        || ei_decode_longlong(body, &index, &r.threads) != 0
        || ei_decode_atom(body, &index, mode) != 0) {
        return false;
    }
    r.mode = mode;
    return r.count > 0 && r.threads > 0 && (r.mode == "threads" || r.threads == 1);
}

class echo_server {
public:
    echo_server(ep::frame_reader &reader, ep::frame_writer &writer)
        : reader_(reader), writer_(writer) {}

    void serve() {
        while (auto f = reader_.next()) {
            dispatch(std::move(*f));
        }
        threads_.reset(); // joins a reverse run still going
    }

private:
    void dispatch(ep::frame &&f) {
        switch (f.header.kind) {
            case ep::frame_kind::call:
                answer(f);
                break;
            case ep::frame_kind::eval:
            case ep::frame_kind::exec:
            case ep::frame_kind::stats:
                answer_trivially(f);
                break;
            case ep::frame_kind::result:
                if (threads_) {
                    threads_->deliver(std::move(f));
                }
                break;
            default:
                break;
        }
    }

    void send_error(const ep::frame_header &h, const std::string &message) {
        ep::term_buffer reply({ep::frame_kind::reply, h.channel, h.ref});
        encode_error(reply.get(), "ValueError", message);
        writer_.send(reply);
    }

    void answer_trivially(const ep::frame &f) {
        ep::term_buffer reply({ep::frame_kind::reply, f.header.channel, f.header.ref});
        ei_x_buff *x = reply.get();
        ei_x_encode_tuple_header(x, 2);
        ei_x_encode_atom(x, "ok");
        if (f.header.kind == ep::frame_kind::stats) {
            ei_x_encode_map_header(x, 0);
        } else {
            ei_x_encode_atom(x, "none");
        }
        writer_.send(reply);
    }

    void answer(const ep::frame &f) {
        call_request request;
        ep::term_check_result checked = ep::check_term(f.body(), f.body_size);
        if (!checked.ok) {
            return send_error(f.header, "bad request term: " + checked.error);
        }
        if (!parse_call(f.body(), request)) {
            return send_error(f.header, "bad call request");
        }
        if (request.module == "__bench__") {
            return control(f, request);
        }
        ep::term_buffer reply({ep::frame_kind::reply, f.header.channel, f.header.ref});
        answer_call(f.body(), request, reply.get());
        writer_.send(reply);
    }

    void control(const ep::frame &f, const call_request &request) {
        reverse_request r;
        if (request.function != "reverse" || !parse_reverse(f.body(), request.args_index, r)) {
            return send_error(f.header, "unknown control request");
        }
        if (r.mode == "inline") {
            return reverse_inline(f.header, r.count);
        }
        threads_.reset(); // the previous run has replied: its threads are ending
        threads_ = std::make_unique<callback_threads>(writer_, f.header, int(r.threads),
                                                      int(r.count));
    }

    void reverse_inline(const ep::frame_header &request, long long count) {
        using clock = std::chrono::steady_clock;
        std::vector<std::int64_t> samples;
        samples.reserve(std::size_t(count));
        auto start = clock::now();
        for (long long i = 0; i < count; ++i) {
            auto t0 = clock::now();
            ep::ref_id ref = fresh_ref();
            send_callback(writer_, 1, ref);
            for (;;) {
                auto f = reader_.next();
                if (!f) {
                    throw ep::protocol_error("input ended during a reverse run");
                }
                if (f->header.kind == ep::frame_kind::result && f->header.channel == 1
                    && f->header.ref == ref) {
                    check_result(*f);
                    break;
                }
                dispatch(std::move(*f));
            }
            samples.push_back(
                std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now() - t0).count());
        }
        auto elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now() - start);
        send_samples(writer_, request, elapsed.count(), samples);
    }

    ep::frame_reader &reader_;
    ep::frame_writer &writer_;
    std::unique_ptr<callback_threads> threads_;
};

void send_hello(ep::frame_writer &writer, const std::string &python) {
    ep::term_buffer hello({ep::frame_kind::hello, ep::any_channel, 0});
    ei_x_buff *x = hello.get();
    ei_x_encode_tuple_header(x, 3);
    ei_x_encode_long(x, ep::protocol_version);
    ei_x_encode_binary(x, python.data(), int(python.size()));
    ei_x_encode_long(x, long(::getpid()));
    writer.send(hello);
}

} // namespace
} // namespace echo_port

int main(int argc, char **argv) {
    std::size_t max_frame = std::size_t(1) << 30;
    bool embed = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--max-frame" && i + 1 < argc) {
            max_frame = std::stoull(argv[++i]);
        } else if (a == "--embed") {
            embed = true;
        }
    }
    std::signal(SIGPIPE, SIG_IGN);
    try {
        ep::protocol_fds fds = ep::protect_protocol_fds();
        ei_init();
        std::string python = "none (echo port)";
        if (embed) {
            Py_InitializeEx(0);
            python = Py_GetVersion();
            python = python.substr(0, python.find(' '));
        }
        boost::asio::io_context io;
        ep::frame_writer writer(io, fds.out);
        ep::frame_reader reader(io, fds.in, max_frame);
        echo_port::send_hello(writer, python);
        echo_port::echo_server(reader, writer).serve();
    } catch (const std::exception &e) {
        std::fprintf(stderr, "echo_port: %s\n", e.what());
        return 3;
    }
    return 0;
}
