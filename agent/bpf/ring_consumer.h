// Drains the BPF ring buffer. Producers submit without waking us (except past
// a fill watermark, and for exec records), so poll() both waits on the ring's
// epoll fd with a timeout and then consumes whatever is there.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <span>

struct ring_buffer;

namespace pagetrace {

class RingConsumer {
public:
    using Handler = std::function<void(std::span<const std::byte>)>;

    RingConsumer(int ring_fd, Handler handler);
    RingConsumer(const RingConsumer&) = delete;
    RingConsumer& operator=(const RingConsumer&) = delete;
    ~RingConsumer();

    // Waits up to timeout_ms for a wakeup, then drains the ring. Returns the
    // number of records handled. A signal interrupting the wait is not an error.
    size_t poll(int timeout_ms);
    // Drains the ring without waiting.
    size_t drain();

private:
    static int on_record(void* ctx, void* data, size_t size);

    struct RingDeleter {
        void operator()(ring_buffer* rb) const;
    };
    Handler handler_;
    std::unique_ptr<ring_buffer, RingDeleter> ring_;
    // An exception thrown by the handler, rethrown outside libbpf's C frames.
    std::exception_ptr pending_error_;
};

}  // namespace pagetrace
