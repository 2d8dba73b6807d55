using System.Diagnostics;
using ChatOpsPull.Observability;

namespace ChatOpsPull.Storage;

/// <summary>
/// SQLite allows one writer at a time, and Microsoft.Data.Sqlite's async calls run synchronously: a writer that finds the
/// lock taken blocks a thread pool thread in SQLite's busy handler, which sleeps in growing steps (up to 100 ms) and may
/// wake long after the lock was freed. In a storm, sixteen delivery lanes and the diagnosis workers each blocked a thread
/// that way (most of the storm's thread time was spent in BEGIN IMMEDIATE). Writers of this process take their turn here
/// instead: asynchronously, handed over the moment the writer before them commits. One process owns a SQLite file
/// (<see cref="ISqlDialect.OneProcess"/>), so this is every writer that matters.
/// Writers are served first come first served, except that a flow marked <see cref="GoAhead"/> (a write someone is
/// waiting to see, such as a diagnosis's result and card) is served before the writers queued without the mark, so it
/// waits for the write under way and not for every intake batch queued behind it. Marked writers are few (one per
/// diagnosis worker at a time), so the others are delayed by a few short transactions at most, never starved.
/// A marked flow that must first wait for something another writer holds (the subject lock of an incident's workload,
/// held by an intake batch that is itself queued here) pulls that writer ahead with it (<see cref="PullAhead"/>): the
/// writers of a flow are named by <see cref="WritingFor"/>, so waiting for the holder does not mean waiting for everyone.
/// A flow that already holds the turn (a write inside a gated write) goes straight on: waiting for itself would never end.
/// A writer may wait with a <see cref="SharedRound"/> (<see cref="BotDatabase.InSharedTransactionAsync{T}"/>): the holder
/// of the turn may then take it off the queue and run it in its own transaction (<see cref="TransactionGroup"/>), in queue
/// order, instead of handing the turn to it; a round marked to go ahead is taken into the transaction under way, next, and
/// that transaction then takes no more rounds queued without the mark before it commits.
/// On PostgreSQL plain writers take no turn (<see cref="TakeAsync(CancellationToken)"/> returns at once), but writers
/// with a <see cref="SharedRound"/> do: there are a few turns (<see cref="StorageOptions.PostgresWriteTurns"/>, at most
/// the warm pool's connections), so a storm's subjects wait here, in process, instead of each opening a server backend or
/// a transaction of its own, and the holder of a turn takes the rounds queued behind it into its transaction as on
/// SQLite. (The class keeps its SQLite name: other parts name it.)
/// </summary>
public sealed class SqliteWriteTurn : IDisposable
{
    private readonly object _gate = new();
    private readonly LinkedList<Waiter> _ahead = new();
    private readonly LinkedList<Waiter> _inOrder = new();
    private readonly AsyncLocal<Holder?> _held = new();
    private readonly AsyncLocal<bool> _goingAhead = new();
    private readonly AsyncLocal<string?> _writingFor = new();
    private readonly Dictionary<string, int> _pulledAhead = new(StringComparer.Ordinal);
    private readonly bool _open;
    private readonly int _turns;
    private int _taken;
    private bool _disposed;

    /// <param name="roundTurns">
    /// Where plain writers take no turn (PostgreSQL): the turns of writers with a shared round; 0, none (they go straight on).
    /// SQLite has one turn for every writer.
    /// </param>
    public SqliteWriteTurn(ISqlDialect dialect, int roundTurns = 0)
    {
        _open = !dialect.OneWriterAtATime;
        _turns = _open ? Math.Max(0, roundTurns) : 1;
    }

    /// <summary>Whether writers with a shared round take turns here (always on SQLite; on PostgreSQL when it has round turns).</summary>
    internal bool TurnsForRounds => _turns > 0;

    /// <summary>Writers waiting for their turn now (for tests and diagnostics).</summary>
    public int Waiting
    {
        get
        {
            lock (_gate)
            {
                return _ahead.Count + _inOrder.Count;
            }
        }
    }

    /// <summary>
    /// Marks the writes of the calling flow (and what it awaits) as ones someone is waiting for: until the returned scope
    /// is disposed, they take the turn ahead of writers queued without the mark (among themselves, in order).
    /// </summary>
    public FlowScope<bool> GoAhead() => FlowScope<bool>.Set(_goingAhead, true);

    /// <summary>Whether the calling flow's writes are marked to go ahead (<see cref="GoAhead"/>).</summary>
    public bool GoingAhead => _goingAhead.Value;

    /// <summary>
    /// Names the writes of the calling flow by what it holds while it writes (e.g. a subject lock), so that a flow marked
    /// to go ahead and waiting for that can pull them ahead (<see cref="PullAhead"/>). Until the scope is disposed.
    /// </summary>
    public FlowScope<string?> WritingFor(string name) => FlowScope<string?>.Set(_writingFor, name);

    /// <summary>
    /// For a flow marked to go ahead that is about to wait for what the writers named <paramref name="name"/> hold: until
    /// the scope is disposed (it got it), their turns go ahead too, those queued now and those asked for meanwhile. Does
    /// nothing for a flow not marked, or on PostgreSQL.
    /// </summary>
    public PullScope PullAhead(string name)
    {
        if (!TurnsForRounds || !_goingAhead.Value)
        {
            return default;
        }

        lock (_gate)
        {
            _pulledAhead[name] = _pulledAhead.GetValueOrDefault(name) + 1;
            for (var node = _inOrder.First; node is not null;)
            {
                var next = node.Next;
                if (node.Value.Name == name)
                {
                    _inOrder.Remove(node);
                    _ahead.AddLast(node);
                }

                node = next;
            }
        }

        return new PullScope(this, name);
    }

    /// <summary>Waits for this process's turn to write; dispose the pass to hand the turn on.</summary>
    public ValueTask<Pass> TakeAsync(CancellationToken cancellationToken) =>
        _open ? ValueTask.FromResult(default(Pass)) : TakeTurnAsync(null, cancellationToken);

    /// <summary>
    /// Waits for this process's turn to write, offering <paramref name="round"/> to the holders before: when one of them
    /// takes it into its transaction (<see cref="ClaimWaitingRounds"/>), this returns a pass that holds nothing and the
    /// round is <see cref="SharedRound.Claimed"/>. With no round, a turn for a write that must run alone (on PostgreSQL too).
    /// </summary>
    internal ValueTask<Pass> TakeTurnAsync(SharedRound? round, CancellationToken cancellationToken)
    {
        if (!TurnsForRounds || _held.Value is { Released: false })
        {
            return ValueTask.FromResult(default(Pass));
        }

        // Marked in the caller's flow (this method is not async, so the mark is not undone when it returns): what the
        // caller runs once it has the turn sees it. The caller waits for the pass, so nothing of its flow runs before.
        var holder = new Holder();
        _held.Value = holder;
        Waiter waiter;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_taken < _turns)
            {
                _taken++;
                return ValueTask.FromResult(Pass.Of(this, holder));
            }

            var name = _writingFor.Value;
            waiter = new Waiter(name, round);
            var ahead = _goingAhead.Value || (name is not null && _pulledAhead.ContainsKey(name));
            waiter.Node = (ahead ? _ahead : _inOrder).AddLast(waiter);
        }

        return WaitAsync(waiter, holder, cancellationToken);
    }

    /// <summary>
    /// For the holder of the turn, as its transaction starts: how many of the rounds queued now without the go-ahead mark it
    /// may take along (<see cref="ClaimNextRound"/>), at most <paramref name="max"/>. Rounds that queue later wait for the
    /// next transaction, unless they are marked to go ahead.
    /// </summary>
    internal int RoundsQueuedInOrder(int max)
    {
        lock (_gate)
        {
            return Math.Min(max, _inOrder.Count(w => w.Round is not null));
        }
    }

    /// <summary>
    /// For the holder of the turn, between the rounds of its transaction: takes the next waiter that offered a round off the
    /// queues and returns its round (marked <see cref="SharedRound.Claimed"/>; its caller now waits for the round's outcome),
    /// or null when it should commit now. A round marked to go ahead comes first, whenever it queued (it rides the
    /// transaction under way instead of waiting for it and every round in it); one queued in order only with
    /// <paramref name="inOrder"/>. None while a writer without a round is queued ahead: it waits for the holder's commit,
    /// not for a growing group. <paramref name="ahead"/> says which queue the round came from.
    /// </summary>
    internal SharedRound? ClaimNextRound(bool inOrder, out bool ahead)
    {
        Waiter? claimed = null;
        ahead = false;
        lock (_gate)
        {
            if (_ahead.Any(w => w.Round is null))
            {
                return null;
            }

            foreach (var queue in inOrder ? new[] { _ahead, _inOrder } : new[] { _ahead })
            {
                for (var node = queue.First; node is not null; node = node.Next)
                {
                    if (node.Value.Round is not null)
                    {
                        queue.Remove(node);
                        claimed = node.Value;
                        ahead = queue == _ahead;
                        break;
                    }
                }

                if (claimed is not null)
                {
                    break;
                }
            }
        }

        if (claimed is null)
        {
            return null;
        }

        claimed.Round!.Claimed = true;
        claimed.Turn.TrySetResult(false);
        return claimed.Round;
    }

    public void Dispose()
    {
        List<Waiter> left;
        lock (_gate)
        {
            _disposed = true;
            left = [.. _ahead, .. _inOrder];
            _ahead.Clear();
            _inOrder.Clear();
        }

        // the database is going away (the host is stopping): nobody will hand the turn on
        left.ForEach(w => w.Turn.TrySetException(new ObjectDisposedException(nameof(SqliteWriteTurn))));
    }

    private async ValueTask<Pass> WaitAsync(Waiter waiter, Holder holder, CancellationToken cancellationToken)
    {
        try
        {
            using (cancellationToken.Register(() => Cancel(waiter, cancellationToken)))
            {
                if (!await waiter.Turn.Task.ConfigureAwait(false))
                {
                    holder.Released = true; // its round was taken into the holder's transaction: this flow never held the turn
                    return default;
                }

                // From the holder's release to this flow running: a wait for a thread, not for a writer.
                DiagnosisStageTimes.Current?.Add(DiagnosisStage.WriteTurnHandOver, Stopwatch.GetElapsedTime(waiter.HandedAt));
            }
        }
        catch
        {
            holder.Released = true; // never held: the flow's later writes wait for their turn
            throw;
        }

        return Pass.Of(this, holder);
    }

    private void Cancel(Waiter waiter, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            // Whoever takes the waiter off its queue decides: handed the turn already, it is not cancelled any more.
            if (waiter.Node?.List is not { } queue)
            {
                return;
            }

            queue.Remove(waiter.Node);
        }

        waiter.Turn.TrySetCanceled(cancellationToken);
    }

    private void EndPull(string name)
    {
        lock (_gate)
        {
            var left = _pulledAhead[name] - 1;
            if (left == 0)
            {
                _pulledAhead.Remove(name);
            }
            else
            {
                _pulledAhead[name] = left;
            }
        }
    }

    private void Release(Holder holder)
    {
        if (holder.Released)
        {
            return;
        }

        holder.Released = true;
        Waiter? next;
        lock (_gate)
        {
            var node = _ahead.First ?? _inOrder.First;
            if (node is null)
            {
                _taken--;
                return;
            }

            node.List!.Remove(node);
            next = node.Value;
        }

        next.HandedAt = Stopwatch.GetTimestamp();
        next.Turn.TrySetResult(true);
    }

    /// <summary>A writer waiting for the turn, on one of the two queues until it is handed the turn or gives up.</summary>
    private sealed class Waiter(string? name, SharedRound? round)
    {
        /// <summary>What the waiting flow writes for (<see cref="WritingFor"/>), if it said.</summary>
        public string? Name { get; } = name;

        /// <summary>The write the holder may run for it in its own transaction, if it offered one.</summary>
        public SharedRound? Round { get; } = round;

        /// <summary>True: handed the turn; false: its round was claimed by the holder.</summary>
        public TaskCompletionSource<bool> Turn { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public LinkedListNode<Waiter>? Node { get; set; }

        /// <summary>When the holder before it handed it the turn (<see cref="Stopwatch.GetTimestamp"/>).</summary>
        public long HandedAt { get; set; }
    }

    /// <summary>The flow that holds the turn (flows on into what it awaits); released once, when its pass is disposed.</summary>
    internal sealed class Holder
    {
        public bool Released { get; set; }
    }

    /// <summary>
    /// A flow-local value set for the calling flow (<see cref="GoAhead"/>'s mark, <see cref="WritingFor"/>'s name) until
    /// disposed, when the value it replaced is back (a default scope restores nothing).
    /// </summary>
    public readonly struct FlowScope<T> : IDisposable
    {
        private readonly AsyncLocal<T>? _local;
        private readonly T _before;

        private FlowScope(AsyncLocal<T> local, T before)
        {
            _local = local;
            _before = before;
        }

        internal static FlowScope<T> Set(AsyncLocal<T> local, T value)
        {
            var scope = new FlowScope<T>(local, local.Value!);
            local.Value = value;
            return scope;
        }

        public void Dispose()
        {
            if (_local is not null)
            {
                _local.Value = _before;
            }
        }
    }

    /// <summary>Ends a <see cref="PullAhead"/> (a default scope pulled nothing).</summary>
    public readonly struct PullScope : IDisposable
    {
        private readonly SqliteWriteTurn? _turn;
        private readonly string? _name;

        internal PullScope(SqliteWriteTurn turn, string name)
        {
            _turn = turn;
            _name = name;
        }

        public void Dispose() => _turn?.EndPull(_name!);
    }

    /// <summary>Hands the turn on when disposed (a default pass holds nothing).</summary>
    public readonly struct Pass : IDisposable
    {
        private readonly SqliteWriteTurn? _turn;
        private readonly Holder? _holder;

        private Pass(SqliteWriteTurn turn, Holder holder)
        {
            _turn = turn;
            _holder = holder;
        }

        internal static Pass Of(SqliteWriteTurn turn, Holder holder) => new(turn, holder);

        /// <summary>Whether this pass holds the turn (not one of a flow that held it already, nor of an open turn).</summary>
        internal bool Holds => _holder is not null;

        public void Dispose()
        {
            if (_holder is not null)
            {
                _turn!.Release(_holder);
            }
        }
    }
}
