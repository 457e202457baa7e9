# The peer protocol. Ordinals are only ever appended; ids are fixed.
@0xce384b64216515e8;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("cascade::wire");

# 2: the dialer hands over its Peer only in `ready`, after it has checked the listener's proof.
# 3: records may carry their chunk list as a delta; update answers needFull.
# 4: update carries `from`: a batch counts only where it continues what the receiver has read,
#    so a sender may have more than one batch in flight.
const protocolVersion :UInt32 = 4;

struct Counter {
  device @0 :UInt64;   # short device id
  value @1 :UInt64;
}

struct Chunk {
  offset @0 :UInt64;
  length @1 :UInt32;
  hash @2 :Data;       # SHA-256, 32 bytes
}

enum FileType {
  file @0;
  dir @1;
  symlink @2;
}

struct Record {
  path @0 :Text;
  type @1 :FileType;
  size @2 :UInt64;
  mtimeNs @3 :Int64;
  mode @4 :UInt32;
  deleted @5 :Bool;
  version @6 :List(Counter);
  sequence @7 :UInt64;
  modifiedBy @8 :UInt64;
  chunks @9 :List(Chunk);
  symlinkTarget @10 :Text;
  hasData @11 :Bool;   # small files travel with their record
  data @12 :Data;
  changedAtNs @13 :Int64;  # wall clock (ns) the source's watcher saw the change; relays keep it
  # With a non-empty deltaBase, `chunks` is empty and the chunk list is `delta` applied to the
  # chunk list of version deltaBase of this path (which the receiver should hold).
  deltaBase @14 :List(Counter);
  delta @15 :List(DeltaStep);
}

# The base's chunks [baseFirst, baseFirst + baseCount), then `added` (offsets as in the new list).
struct DeltaStep {
  baseFirst @0 :UInt32;
  baseCount @1 :UInt32;
  added @2 :List(Chunk);
}

struct Hello {
  deviceId @0 :Data;       # 32 bytes
  group @1 :Data;          # proof of the group key: HMAC over this TLS session's exporter
  protocol @2 :UInt32;
  indexEpoch @3 :UInt64;   # identifies the sender's index database; sequences restart with it
}

struct Range {
  offset @0 :UInt64;
  length @1 :UInt64;
}

struct Piece {
  offset @0 :UInt64;
  data @1 :Data;
}

# The listener's bootstrap capability. No capability of a node goes to a peer before that
# peer's proof has checked out:
#   1. the dialer calls hello (its `peer` stays null; a listener ignores one);
#   2. the listener checks the dialer's proof and only then answers with its hello and Peer;
#   3. the dialer checks the listener's proof and only then calls ready with its own Peer.
# The session is up on the listener once ready arrives; a listener's Peer refuses every call
# (and drops the connection) before that. A dialer's bootstrap refuses both methods.
interface Handshake {
  hello @0 (hello :Hello, peer :Peer) -> (hello :Hello, peer :Peer);
  ready @1 (peer :Peer) -> ();
}

# One per session, in each direction.
interface Peer {
  # Sends me your records with a sequence above `from` (of your index `epoch`), then every new one.
  subscribe @0 (epoch :UInt64, from :UInt64) -> ();
  # A batch of index records: the sender's records with a sequence in (from, last]. The receiver
  # takes it only if `from` is not above what it has read of the sender (else it fails the
  # call), so batches may be pipelined. needFull: a delta's base was not here; nothing of the
  # batch counts as read, send it again without deltas.
  update @1 (records :List(Record), last :UInt64, from :UInt64) -> (needFull :Bool);
  # Streams the given ranges of `path` into `sink`, then calls sink.done(). With a `version`,
  # the ranges may also come from that version's partial file (a transfer still in flight, or
  # one stopped halfway), if every byte asked for lies in chunks it has verified.
  fetch @2 (path :Text, ranges :List(Range), sink :ChunkSink, version :List(Counter)) -> ();
  ping @3 () -> ();
  # Push cascade: the sender holds (or is receiving) `record` and offers to stream it. `rest` is
  # the chain the receiver should continue, `visited` the devices that have or get it already.
  # A null sink declines (we have it, or get it elsewhere).
  offer @4 (record :Record, rest :List(Data), visited :List(Data)) -> (sink :ChunkSink);
  # Pull repair: what do you hold of this version of `path`? `complete`: the whole file;
  # otherwise `chunks` is a bitmap (bit i of byte i/8, least significant first) of the
  # record's chunks held verified, empty when none.
  have @5 (path :Text, version :List(Counter)) -> (complete :Bool, chunks :Data);
}

interface ChunkSink {
  write @0 (pieces :List(Piece)) -> stream;
  done @1 (error :Text) -> ();   # empty error: every range was sent
}
