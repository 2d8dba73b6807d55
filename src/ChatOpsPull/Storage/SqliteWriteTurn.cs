namespace ChatOpsPull.Storage;

/// <summary>
/// SQLite allows one writer at a time, and Microsoft.Data.Sqlite's async calls run synchronously: a writer that finds the
/// lock taken blocks a thread pool thread in SQLite's busy handler, which sleeps in growing steps (up to 100 ms) and may
/// wake long after the lock was freed. In a storm, sixteen delivery lanes and the diagnosis workers each blocked a thread
/// that way (most of the storm's thread time was spent in BEGIN IMMEDIATE). Writers of this process take their turn here
/// instead: asynchronously, first come first served, handed over the moment the writer before them commits. One process
/// owns a SQLite file (<see cref="ISqlDialect.OneProcess"/>), so this is every writer that matters.
/// A flow that already holds the turn (a write inside a gated write) goes straight on: waiting for itself would never end.
/// On PostgreSQL there is no turn to take.
/// </summary>
public sealed class SqliteWriteTurn : IDisposable
{
    private readonly SemaphoreSlim _writer = new(1, 1);
    private readonly AsyncLocal<Holder?> _held = new();
    private readonly bool _open;

    public SqliteWriteTurn(ISqlDialect dialect) => _open = !dialect.OneWriterAtATime;

    /// <summary>Writers waiting for their turn now (for tests and diagnostics).</summary>
    public int Waiting => Volatile.Read(ref _waiting);

    private int _waiting;

    /// <summary>Waits for this process's turn to write; dispose the pass to hand the turn on.</summary>
    public ValueTask<Pass> TakeAsync(CancellationToken cancellationToken)
    {
        if (_open || _held.Value is { Released: false })
        {
            return ValueTask.FromResult(default(Pass));
        }

        // Marked in the caller's flow (this method is not async, so the mark is not undone when it returns): what the
        // caller runs once it has the turn sees it. The caller waits for the pass, so nothing of its flow runs before.
        var holder = new Holder();
        _held.Value = holder;
        return WaitAsync(holder, cancellationToken);
    }

    public void Dispose() => _writer.Dispose();

    private async ValueTask<Pass> WaitAsync(Holder holder, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _waiting);
        try
        {
            await _writer.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            holder.Released = true; // never held: the flow's later writes wait for their turn
            throw;
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }

        return Pass.Of(this, holder);
    }

    private void Release(Holder holder)
    {
        if (holder.Released)
        {
            return;
        }

        holder.Released = true;
        try
        {
            _writer.Release();
        }
        catch (ObjectDisposedException)
        {
            // the database was disposed while this writer finished (the host is stopping): nobody waits any more
        }
    }

    /// <summary>The flow that holds the turn (flows on into what it awaits); released once, when its pass is disposed.</summary>
    internal sealed class Holder
    {
        public bool Released { get; set; }
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

        public void Dispose()
        {
            if (_holder is not null)
            {
                _turn!.Release(_holder);
            }
        }
    }
}
