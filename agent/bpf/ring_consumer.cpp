#include "bpf/ring_consumer.h"

#include <bpf/libbpf.h>

#include <cerrno>
#include <exception>
#include <utility>

#include "util/error.h"

namespace pagetrace {

void RingConsumer::RingDeleter::operator()(ring_buffer* rb) const { ring_buffer__free(rb); }

RingConsumer::RingConsumer(int ring_fd, Handler handler) : handler_(std::move(handler)) {
    ring_.reset(ring_buffer__new(ring_fd, &RingConsumer::on_record, this, nullptr));
    if (!ring_) throw Error(errno_message("setting up the ring buffer consumer", errno));
}

RingConsumer::~RingConsumer() = default;

int RingConsumer::on_record(void* ctx, void* data, size_t size) {
    auto* self = static_cast<RingConsumer*>(ctx);
    try {
        self->handler_(std::span<const std::byte>(static_cast<const std::byte*>(data), size));
        return 0;
    } catch (...) {
        self->pending_error_ = std::current_exception();
        return -ECANCELED;  // stops ring_buffer__consume(); rethrown below
    }
}

size_t RingConsumer::poll(int timeout_ms) {
    const int woke = ring_buffer__poll(ring_.get(), timeout_ms);
    if (pending_error_) std::rethrow_exception(std::exchange(pending_error_, nullptr));
    if (woke < 0 && woke != -EINTR) throw Error(errno_message("polling the ring buffer", -woke));
    return static_cast<size_t>(woke > 0 ? woke : 0) + drain();
}

size_t RingConsumer::drain() {
    const int n = ring_buffer__consume(ring_.get());
    if (pending_error_) std::rethrow_exception(std::exchange(pending_error_, nullptr));
    if (n < 0 && n != -EINTR) throw Error(errno_message("reading the ring buffer", -n));
    return static_cast<size_t>(n > 0 ? n : 0);
}

}  // namespace pagetrace
