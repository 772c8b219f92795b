/// A buffer for a streamed body's bytes (`StreamedBody`), reused from request to request (`BodyPieces`): a chunk
/// of a file costs no fresh mapping and no page faults per request.
final class BodyPiece: @unchecked Sendable {
    // Sound: a piece is used by one thread at a time, and changes hands (loop → worker → pool → loop) only under the
    // lock of `StreamedBody.state` or of `BodyPieces`, which orders every access before the hand-over.
    let base: UnsafeMutableRawPointer
    let capacity: Int
    var count = 0

    init(capacity: Int) {
        self.capacity = capacity
        base = .allocate(byteCount: capacity, alignment: 64)
    }

    deinit { base.deallocate() }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }
}

/// The server's pieces not in use, kept for the next streamed body (at most `kept` of them; more are freed).
final class BodyPieces: Sendable {
    /// 1 MiB: the block `BlobStore.Partial` writes and hashes at once, so a piece goes to the disk without a copy.
    static let pieceBytes = 1 << 20
    let kept: Int
    private let free = Locked<[BodyPiece]>([])

    init(kept: Int) { self.kept = kept }

    func take() -> BodyPiece { free.withLock { $0.popLast() } ?? BodyPiece(capacity: Self.pieceBytes) }

    func give(_ piece: BodyPiece) {
        piece.count = 0
        free.withLock { if $0.count < kept { $0.append(piece) } }
    }
}

/// One streamed request body between the event loop, which reads it from the socket into pieces, and the workers,
/// which hand the pieces to the responder's consumer in order. At most `maxPieces` pieces are out at a time (one
/// filling while another is consumed): when both are taken the loop stops reading the socket until a worker gives
/// one back, so a body costs at most `maxPieces` MiB however fast it comes, and no worker waits for the network —
/// a piece becomes a job only once it is full (or the body ends), so a slow link holds a buffer, not a thread.
final class StreamedBody: Sendable {
    static let maxPieces = 2

    private struct State {
        var consumer: (any HTTPBodyConsumer)?
        /// The answer, once decided before the body's end (a refusal): later pieces are discarded.
        var answer: HTTPResponse?
        /// `HTTPResponder.receive` ran.
        var received = false
        /// Full pieces waiting for a worker, in order.
        var queued: [BodyPiece] = []
        /// Pieces taken by this body and not given back (filling, queued, being consumed).
        var piecesOut = 0
        /// The loop read the last byte of the body.
        var ended = false
        /// The body will not be read to its end (the connection closed or timed out): release the consumer.
        var cut = false
        /// A worker has a job on this body (at most one: the calls never overlap, the pieces stay in order).
        var running = true
    }

    let request: HTTPRequest
    let head: HTTPRequestHead
    private let pieces: BodyPieces
    private let state = Locked(State())

    /// A body whose first job (`receive`) the caller submits now: it counts as running.
    init(request: HTTPRequest, head: HTTPRequestHead, pieces: BodyPieces) {
        self.request = request
        self.head = head
        self.pieces = pieces
    }

    // MARK: the loop's side

    /// A piece to fill, or nil while `maxPieces` are out (the loop waits for `ServerShared.resumes`).
    func takePiece() -> BodyPiece? {
        let granted = state.withLock { s -> Bool in
            guard s.piecesOut < Self.maxPieces else { return false }
            s.piecesOut += 1
            return true
        }
        return granted ? pieces.take() : nil
    }

    /// Hands a filled piece (nil: none) to the workers, and with `last` says the body is all read. True when a job
    /// must be submitted for it (no worker is on this body).
    func deliver(_ piece: BodyPiece?, last: Bool) -> Bool {
        var unused: BodyPiece?
        let submit = state.withLock { s -> Bool in
            if let piece {
                if piece.count > 0 && !s.cut { s.queued.append(piece) } else { unused = piece; s.piecesOut -= 1 }
            }
            if last { s.ended = true }
            guard !s.running else { return false }
            s.running = true
            return true
        }
        if let unused { pieces.give(unused) }
        return submit
    }

    /// The body will not be read to its end; `filling` is the piece the loop held. The bytes read so far still go
    /// to the consumer (a resumed upload then starts after them), which is then released without `finish`, on a
    /// worker (its release may write to the disk: never on the loop). True when a job must be submitted for that.
    func cut(filling: BodyPiece?) -> Bool {
        var unused: BodyPiece?
        let submit = state.withLock { s -> Bool in
            if let filling {
                if filling.count > 0 { s.queued.append(filling) } else { unused = filling; s.piecesOut -= 1 }
            }
            s.cut = true
            guard !s.running else { return false }
            s.running = true
            return true
        }
        if let unused { pieces.give(unused) }
        return submit
    }

    // MARK: a worker's side

    private enum Step {
        case receive
        case consume(BodyPiece, (any HTTPBodyConsumer)?)
        case finish((any HTTPBodyConsumer)?, HTTPResponse?)
        case release((any HTTPBodyConsumer)?)
        case idle
    }

    /// A job on this body: asks the responder for a consumer (first job), then feeds it the queued pieces; after the
    /// last, answers through `shared`. Returns when nothing is queued (the loop submits a new job for the next piece).
    func run(_ job: Job, shared: ServerShared) {
        while true {
            var dropped: [BodyPiece] = []
            let step = state.withLock { s -> Step in
                if s.cut && !s.received {
                    // Cut before the responder saw the head: it never will.
                    dropped = s.queued
                    s.queued.removeAll()
                    s.piecesOut -= dropped.count
                    s.running = false
                    return .release(nil)
                }
                if !s.received { return .receive }
                if !s.queued.isEmpty { return .consume(s.queued.removeFirst(), s.answer == nil ? s.consumer : nil) }
                if s.cut {
                    let consumer = s.consumer
                    s.consumer = nil
                    s.running = false
                    return .release(consumer)
                }
                if s.ended {
                    let consumer = s.consumer
                    s.consumer = nil
                    return .finish(consumer, s.answer)
                }
                s.running = false
                return .idle
            }
            switch step {
            case .receive:
                let receipt = shared.responder.receive(request)
                state.withLock { s in
                    s.received = true
                    switch receipt {
                    case .consumer(let consumer): s.consumer = consumer
                    case .answer(let answer): s.answer = answer
                    }
                }
            case .consume(let piece, let consumer):
                if let consumer, let answer = consumer.consume(piece.bytes) {
                    // Refused midway: the consumer goes now (here, on a worker), the rest of the body is discarded.
                    state.withLock { s in
                        s.answer = answer
                        s.consumer = nil
                    }
                }
                state.withLock { $0.piecesOut -= 1 }
                pieces.give(piece)
                shared.resume(fd: job.fd, connectionID: job.connectionID)
            case .finish(let consumer, let answer):
                let response = answer ?? consumer?.finish()
                    ?? .error(status: 500, code: "server_error", message: "the request body had no consumer")
                shared.respond(job, with: response, bodyBytes: head.contentLength)
                return
            case .release, .idle:
                for piece in dropped { pieces.give(piece) }
                return
            }
        }
    }
}
