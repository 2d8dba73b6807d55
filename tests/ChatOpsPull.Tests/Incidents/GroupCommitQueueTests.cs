using ChatOpsPull.Incidents.Engine;

namespace ChatOpsPull.Tests.Incidents;

/// <summary>
/// Group commit: what arrives while a round is being committed goes into the next round, in order, once; what arrives
/// while a round waits to start writing rides in it.
/// </summary>
public sealed class GroupCommitQueueTests
{
    [Fact]
    public async Task Items_arriving_during_a_commit_are_committed_together_next_in_arrival_order()
    {
        var queue = new GroupCommitQueue<int>();
        var rounds = new List<IReadOnlyList<int>>();
        var firstStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var releaseFirst = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        async Task CommitAsync(GroupCommitQueue<int>.Round taking)
        {
            var round = taking.Take();
            lock (rounds)
            {
                rounds.Add(round);
            }

            if (round.Contains(1))
            {
                firstStarted.SetResult();
                await releaseFirst.Task;
            }
        }

        var first = queue.AddAsync("subject", 1, CommitAsync, CancellationToken.None);
        await firstStarted.Task;
        var waiting = Enumerable.Range(2, 5).Select(i => queue.AddAsync("subject", i, CommitAsync, CancellationToken.None)).ToList();
        Assert.All(waiting, t => Assert.False(t.IsCompleted));
        releaseFirst.SetResult();
        await Task.WhenAll(waiting.Append(first));

        Assert.Equal(["1", "2,3,4,5,6"], rounds.Select(r => string.Join(",", r)));
    }

    [Fact]
    public async Task Other_keys_are_not_held_up_by_a_busy_key()
    {
        var queue = new GroupCommitQueue<string>();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var busy = queue.AddAsync("a", "a-1", async round => { round.Take(); await release.Task; }, CancellationToken.None);

        await queue.AddAsync("b", "b-1", round => { round.Take(); return Task.CompletedTask; }, CancellationToken.None);

        Assert.False(busy.IsCompleted);
        release.SetResult();
        await busy;
    }

    [Fact]
    public async Task A_failed_round_fails_its_own_callers_only_and_the_next_round_still_commits()
    {
        var queue = new GroupCommitQueue<int>();
        var firstStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var releaseFirst = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var committed = new List<int>();
        async Task CommitAsync(GroupCommitQueue<int>.Round taking)
        {
            var round = taking.Take();
            if (round.Contains(1))
            {
                firstStarted.SetResult();
                await releaseFirst.Task;
                throw new InvalidOperationException("database went away");
            }

            committed.AddRange(round);
        }

        var failing = queue.AddAsync("subject", 1, CommitAsync, CancellationToken.None);
        await firstStarted.Task;
        var next = queue.AddAsync("subject", 2, CommitAsync, CancellationToken.None);
        releaseFirst.SetResult();

        await Assert.ThrowsAsync<InvalidOperationException>(() => failing);
        await next;
        Assert.Equal([2], committed);
    }

    [Fact]
    public async Task A_caller_that_gives_up_does_not_stop_the_round_that_holds_its_item()
    {
        var queue = new GroupCommitQueue<int>();
        var firstStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var releaseFirst = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var committed = new List<int>();
        async Task CommitAsync(GroupCommitQueue<int>.Round taking)
        {
            var round = taking.Take();
            if (round.Contains(1))
            {
                firstStarted.SetResult();
                await releaseFirst.Task;
            }

            committed.AddRange(round);
        }

        var first = queue.AddAsync("subject", 1, CommitAsync, CancellationToken.None);
        await firstStarted.Task;
        using var giveUp = new CancellationTokenSource();
        var impatient = queue.AddAsync("subject", 2, CommitAsync, giveUp.Token);
        var patient = queue.AddAsync("subject", 3, CommitAsync, CancellationToken.None);
        await giveUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => impatient);
        releaseFirst.SetResult();

        await Task.WhenAll(first, patient);
        Assert.Equal([1, 2, 3], committed);
    }

    [Fact]
    public async Task Items_arriving_while_a_round_waits_for_its_turn_ride_in_that_round()
    {
        var queue = new GroupCommitQueue<int>();
        var rounds = new List<IReadOnlyList<int>>();
        var waitingForTurn = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var turn = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        async Task CommitAsync(GroupCommitQueue<int>.Round round)
        {
            waitingForTurn.TrySetResult();
            await turn.Task; // the subject lock, a write turn: the round has not started writing
            rounds.Add(round.Take());
        }

        var first = queue.AddAsync("subject", 1, CommitAsync, CancellationToken.None);
        await waitingForTurn.Task;
        var later = Enumerable.Range(2, 4).Select(i => queue.AddAsync("subject", i, CommitAsync, CancellationToken.None)).ToList();
        turn.SetResult();
        await Task.WhenAll(later.Append(first));

        Assert.Equal(["1,2,3,4,5"], rounds.Select(r => string.Join(",", r)));
    }

    [Fact]
    public async Task An_attempt_after_a_failed_one_holds_the_items_taken_before_and_those_that_came_since()
    {
        var queue = new GroupCommitQueue<int>();
        var attempts = new List<IReadOnlyList<int>>();
        var firstAttempt = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var retry = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        async Task CommitAsync(GroupCommitQueue<int>.Round round)
        {
            attempts.Add(round.Take()); // a lost race: rolled back, tried again
            firstAttempt.TrySetResult();
            await retry.Task;
            attempts.Add(round.Take());
        }

        var first = queue.AddAsync("subject", 1, CommitAsync, CancellationToken.None);
        await firstAttempt.Task;
        var second = queue.AddAsync("subject", 2, CommitAsync, CancellationToken.None);
        retry.SetResult();
        await Task.WhenAll(first, second);

        Assert.Equal(["1", "1,2"], attempts.Select(a => string.Join(",", a)));
    }

    [Fact]
    public async Task A_round_that_fails_before_it_takes_its_items_fails_the_items_waiting_and_the_queue_goes_on()
    {
        var queue = new GroupCommitQueue<int>();
        var committed = new List<int>();
        var fail = true;
        Task CommitAsync(GroupCommitQueue<int>.Round round)
        {
            if (fail)
            {
                fail = false;
                throw new InvalidOperationException("no write turn: the store is stopping");
            }

            committed.AddRange(round.Take());
            return Task.CompletedTask;
        }

        await Assert.ThrowsAsync<InvalidOperationException>(() => queue.AddAsync("subject", 1, CommitAsync, CancellationToken.None));
        await queue.AddAsync("subject", 2, CommitAsync, CancellationToken.None);

        Assert.Equal([2], committed);
    }

    [Fact]
    public async Task A_round_that_commits_without_taking_its_items_fails_them_instead_of_leaving_them_waiting()
    {
        var queue = new GroupCommitQueue<int>();

        await Assert.ThrowsAsync<InvalidOperationException>(() => queue.AddAsync("subject", 1, _ => Task.CompletedTask, CancellationToken.None));
        await queue.AddAsync("subject", 2, round => { round.Take(); return Task.CompletedTask; }, CancellationToken.None);
    }
}
