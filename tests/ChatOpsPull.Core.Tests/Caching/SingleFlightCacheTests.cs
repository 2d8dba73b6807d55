using ChatOpsPull.Core.Caching;

namespace ChatOpsPull.Core.Tests.Caching;

/// <summary>
/// One read per key however many callers ask at once, its answer kept by its owner's rule. Every interleaving that matters
/// is forced with gates the test opens, never with timing, and the clock moves only when the test moves it.
/// </summary>
public sealed class SingleFlightCacheTests
{
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    private readonly StandingClock _clock = new();

    [Fact]
    public async Task Many_callers_at_once_on_a_standing_clock_read_once_and_all_get_its_answer()
    {
        var cache = Cache();
        var reads = new GatedReads();
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var callers = Enumerable.Range(0, 200).Select(_ => Task.Run(async () =>
        {
            await go.Task;
            return await Get(cache, reads, "web");
        })).ToArray();
        go.SetResult();
        await reads.Started.Task.WaitAsync(Deadline);
        reads.Answer("web-1");

        var answers = await Task.WhenAll(callers).WaitAsync(Deadline);

        Assert.All(answers, a => Assert.Equal("web-1", a));
        Assert.Equal(1, reads.Count);
    }

    [Fact]
    public async Task A_caller_that_misses_the_kept_answer_just_as_another_callers_read_completes_serves_that_answer()
    {
        var reads = 0;
        SingleFlightCache<string, string>? cache = null;
        Task<string>? other = null;
        var hooked = false;
        cache = new SingleFlightCache<string, string>(
            (answer, at, now) =>
            {
                var fresh = now - at < Window;
                if (!fresh && answer == "old" && !hooked)
                {
                    hooked = true;
                    // A caller has just found the kept answer stale and has not yet taken the cache's lock: in that
                    // moment another caller reads the key, and its read completes.
                    other = cache!.GetAsync("web", 0, (_, _) => { reads++; return Task.FromResult("web-1"); }, CancellationToken.None);
                }

                return fresh;
            },
            16,
            _clock);
        await cache.GetAsync("web", 0, static (_, _) => Task.FromResult("old"), CancellationToken.None).WaitAsync(Deadline);
        _clock.Advance(Window);

        var answer = await cache.GetAsync("web", 0, (_, _) => { reads++; return Task.FromResult("web-2"); }, CancellationToken.None).WaitAsync(Deadline);

        Assert.NotNull(other);
        Assert.Equal("web-1", await other.WaitAsync(Deadline));
        Assert.Equal("web-1", answer);
        Assert.Equal(1, reads);
    }

    [Fact]
    public async Task A_caller_arriving_as_the_read_completes_joins_it_and_reads_nothing_new()
    {
        var cache = Cache();
        var answer = new TaskCompletionSource<string>();
        var reads = 0;
        Task<string>? late = null;
        Task<string> Read(string key, int state)
        {
            reads++;
            var read = new TaskCompletionSource<string>();
            // Runs on the completing thread before the cache hears that its read is done.
            answer.Task.ContinueWith(
                t =>
                {
                    late = cache.GetAsync(key, 0, Read, CancellationToken.None);
                    read.SetResult(t.Result);
                },
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
            return read.Task;
        }

        var first = cache.GetAsync("web", 0, Read, CancellationToken.None);
        answer.SetResult("web-1");

        Assert.Equal("web-1", await first.WaitAsync(Deadline));
        Assert.NotNull(late);
        Assert.Equal("web-1", await late.WaitAsync(Deadline));
        Assert.Equal("web-1", await cache.GetAsync("web", 0, Read, CancellationToken.None).WaitAsync(Deadline));
        Assert.Equal(1, reads);
    }

    [Fact]
    public async Task A_read_that_throws_fails_its_waiters_and_is_not_kept_so_the_next_caller_reads_again()
    {
        var cache = Cache();
        var reads = new GatedReads();
        var waiters = Enumerable.Range(0, 5).Select(_ => Get(cache, reads, "web")).ToArray();
        await reads.Started.Task.WaitAsync(Deadline);

        reads.Fail(new InvalidOperationException("the API server refused"));

        foreach (var waiter in waiters)
        {
            var e = await Assert.ThrowsAsync<InvalidOperationException>(() => waiter.WaitAsync(Deadline));
            Assert.Equal("the API server refused", e.Message);
        }

        Assert.Equal(1, reads.Count);
        await AnsweredAndKeptAsync(cache, reads, Get(cache, reads, "web"), "web-2");
        Assert.Equal(2, reads.Count);
    }

    [Fact]
    public async Task A_read_that_throws_before_its_first_await_fails_its_caller_and_is_not_kept()
    {
        var cache = Cache();
        var calls = 0;

        // Not an async method: it throws before it has a task to fail.
        Task<string> NoClientTheFirstTime(string key, int state) =>
            Interlocked.Increment(ref calls) == 1 ? throw new InvalidOperationException("no client") : Task.FromResult("web-1");

        await Assert.ThrowsAsync<InvalidOperationException>(() => cache.GetAsync("web", 0, NoClientTheFirstTime, CancellationToken.None).WaitAsync(Deadline));
        var retried = await cache.GetAsync("web", 0, NoClientTheFirstTime, CancellationToken.None).WaitAsync(Deadline);

        Assert.Equal("web-1", retried);
        Assert.Equal(2, calls);
    }

    [Fact]
    public async Task An_answer_the_owners_rule_does_not_keep_goes_to_its_waiters_and_the_next_caller_reads_again()
    {
        // The owner keeps answers for the window, but never one that says the read failed.
        var cache = new SingleFlightCache<string, string>((answer, at, now) => answer != "failed" && now - at < Window, 16, _clock);
        var reads = new GatedReads();
        var waiters = Enumerable.Range(0, 5).Select(_ => Get(cache, reads, "web")).ToArray();
        await reads.Started.Task.WaitAsync(Deadline);

        reads.Answer("failed");

        Assert.All(await Task.WhenAll(waiters).WaitAsync(Deadline), a => Assert.Equal("failed", a));
        await AnsweredAndKeptAsync(cache, reads, Get(cache, reads, "web"), "web-1");
        Assert.Equal(2, reads.Count);
    }

    [Fact]
    public async Task A_cancelled_waiter_stops_waiting_without_failing_the_others_or_the_read()
    {
        var cache = Cache();
        var reads = new GatedReads();
        using var cancel = new CancellationTokenSource();
        // The caller that started the read gives up: the read goes on for the one still waiting.
        var starter = Get(cache, reads, "web", cancel.Token);
        await reads.Started.Task.WaitAsync(Deadline);
        var other = Get(cache, reads, "web");

        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => starter.WaitAsync(Deadline));
        Assert.False(other.IsCompleted);
        await AnsweredAndKeptAsync(cache, reads, other, "web-1");
        Assert.Equal(1, reads.Count);
    }

    [Fact]
    public async Task A_kept_answer_serves_until_the_owners_rule_says_it_is_stale_then_the_key_is_read_again()
    {
        var cache = Cache();
        var reads = new GatedReads();
        var first = Get(cache, reads, "web");
        reads.Answer("web-1");
        Assert.Equal("web-1", await first.WaitAsync(Deadline));

        _clock.Advance(Window - TimeSpan.FromSeconds(1));
        Assert.Equal("web-1", await Get(cache, reads, "web").WaitAsync(Deadline));
        _clock.Advance(TimeSpan.FromSeconds(1));
        var again = Get(cache, reads, "web");
        reads.Answer("web-2");

        Assert.Equal("web-2", await again.WaitAsync(Deadline));
        Assert.Equal(2, reads.Count);
    }

    [Fact]
    public async Task A_read_in_flight_is_shared_however_long_it_takes_and_keys_do_not_share()
    {
        var cache = Cache();
        var web = new GatedReads();
        var api = new GatedReads();
        var first = Get(cache, web, "web");
        await web.Started.Task.WaitAsync(Deadline);
        _clock.Advance(Window * 10);
        var second = Get(cache, web, "web");
        var other = Get(cache, api, "api");

        web.Answer("web-1");
        api.Answer("api-1");

        Assert.Equal("web-1", await first.WaitAsync(Deadline));
        Assert.Equal("web-1", await second.WaitAsync(Deadline));
        Assert.Equal("api-1", await other.WaitAsync(Deadline));
        Assert.Equal(1, web.Count);
        Assert.Equal(1, api.Count);
    }

    [Fact]
    public async Task A_full_cache_drops_stale_answers_first_then_all_answers_but_never_a_read_in_flight()
    {
        var cache = new SingleFlightCache<string, string>((_, at, now) => now - at < Window, 3, _clock);
        await cache.GetAsync("old", 0, static (key, _) => Task.FromResult(key), CancellationToken.None).WaitAsync(Deadline);
        _clock.Advance(Window);
        await cache.GetAsync("a", 0, static (key, _) => Task.FromResult(key), CancellationToken.None).WaitAsync(Deadline);
        var reads = new GatedReads();
        var inFlight = Get(cache, reads, "slow");
        Assert.Equal(3, cache.Count);

        // Full: the stale answer goes, the fresh one and the read in flight stay.
        await cache.GetAsync("b", 0, static (key, _) => Task.FromResult(key), CancellationToken.None).WaitAsync(Deadline);
        Assert.Equal(3, cache.Count);

        // Full of fresh answers and a read: the answers go, the read in flight is still shared.
        await cache.GetAsync("c", 0, static (key, _) => Task.FromResult(key), CancellationToken.None).WaitAsync(Deadline);
        Assert.Equal(2, cache.Count);
        var sharing = Get(cache, reads, "slow");
        reads.Answer("slow-1");
        Assert.Equal("slow-1", await inFlight.WaitAsync(Deadline));
        Assert.Equal("slow-1", await sharing.WaitAsync(Deadline));
        Assert.Equal(1, reads.Count);
    }

    [Fact]
    public async Task A_shared_answer_says_whether_another_callers_read_made_it_and_when_a_kept_one_arrived()
    {
        var cache = Cache();
        var reads = new GatedReads();
        var own = cache.GetSharedAsync("web", reads, static (k, r) => r.ReadAsync(k), CancellationToken.None);
        await reads.Started.Task.WaitAsync(Deadline);
        var joined = cache.GetSharedAsync("web", reads, static (k, r) => r.ReadAsync(k), CancellationToken.None);
        var answeredAt = _clock.GetUtcNow();
        reads.Answer("web-1");

        var first = await own.WaitAsync(Deadline);
        var second = await joined.WaitAsync(Deadline);
        _clock.Advance(TimeSpan.FromSeconds(5));
        var kept = await cache.GetSharedAsync("web", reads, static (k, r) => r.ReadAsync(k), CancellationToken.None).WaitAsync(Deadline);

        Assert.Equal(new SharedAnswer<string>("web-1", Joined: false, AnsweredAt: null), first);
        Assert.Equal(new SharedAnswer<string>("web-1", Joined: true, AnsweredAt: null), second); // it waited: the answer is as new as its own
        Assert.Equal(new SharedAnswer<string>("web-1", Joined: true, AnsweredAt: answeredAt), kept);
        Assert.Equal(1, reads.Count);
        Assert.Equal(1, cache.ReadsStarted);

        _clock.Advance(Window);
        var again = cache.GetSharedAsync("web", reads, static (k, r) => r.ReadAsync(k), CancellationToken.None);
        reads.Answer("web-2");
        Assert.Equal(new SharedAnswer<string>("web-2", Joined: false, AnsweredAt: null), await again.WaitAsync(Deadline));
        Assert.Equal(2, cache.ReadsStarted);
    }

    /// <summary>The answer for <paramref name="key"/>, read (if it must be) by <paramref name="reads"/>.</summary>
    private static Task<string> Get(SingleFlightCache<string, string> cache, GatedReads reads, string key, CancellationToken cancellationToken = default) =>
        cache.GetAsync(key, reads, static (k, r) => r.ReadAsync(k), cancellationToken);

    /// <summary>Answers the read in flight: <paramref name="waiting"/> gets the answer, and so does the next caller, from the cache.</summary>
    private static async Task AnsweredAndKeptAsync(SingleFlightCache<string, string> cache, GatedReads reads, Task<string> waiting, string answer)
    {
        reads.Answer(answer);
        Assert.Equal(answer, await waiting.WaitAsync(Deadline));
        Assert.Equal(answer, await Get(cache, reads, "web").WaitAsync(Deadline));
    }

    private SingleFlightCache<string, string> Cache() => new((_, at, now) => now - at < Window, 16, _clock, StringComparer.Ordinal);

    /// <summary>Reads that each wait for the test to answer them, one at a time.</summary>
    private sealed class GatedReads
    {
        private readonly Lock _gate = new();
        private TaskCompletionSource<string> _pending = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _count;

        /// <summary>Completed when the first read starts.</summary>
        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Count => Volatile.Read(ref _count);

        public Task<string> ReadAsync(string key)
        {
            Assert.False(string.IsNullOrEmpty(key));
            Interlocked.Increment(ref _count);
            Task<string> read;
            lock (_gate)
            {
                read = _pending.Task;
            }

            Started.TrySetResult();
            return read;
        }

        /// <summary>Answers the read waiting now; the next read waits for the next answer.</summary>
        public void Answer(string answer) => Next().SetResult(answer);

        public void Fail(Exception e) => Next().SetException(e);

        private TaskCompletionSource<string> Next()
        {
            lock (_gate)
            {
                var current = _pending;
                _pending = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
                return current;
            }
        }
    }

    private sealed class StandingClock : TimeProvider
    {
        private DateTimeOffset _now = new(2026, 12, 7, 10, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}
