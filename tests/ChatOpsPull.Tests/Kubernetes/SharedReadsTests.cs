using ChatOpsPull.Kubernetes;

namespace ChatOpsPull.Tests.Kubernetes;

/// <summary>
/// Reads of one object asked for at once are sent once, but only to callers that began before the read was sent: no
/// caller gets an answer older than one it would have asked for, and nothing is kept once a read has answered.
/// </summary>
public sealed class SharedReadsTests
{
    [Fact]
    public async Task A_caller_that_began_before_a_read_of_the_same_object_was_sent_joins_it()
    {
        var reads = new SharedReads();
        var began = SharedReads.Now();
        var answer = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var sent = 0;
        Task<string> Read()
        {
            Interlocked.Increment(ref sent);
            return answer.Task;
        }

        var first = reads.ReadAsync("node//worker-1", began, Read, CancellationToken.None);
        var second = reads.ReadAsync("node//worker-1", began, Read, CancellationToken.None);
        answer.SetResult("worker-1 as read");

        Assert.Equal(["worker-1 as read", "worker-1 as read"], await Task.WhenAll(first, second));
        Assert.Equal(1, sent);
        Assert.Equal((1, 1), (reads.Sent, reads.Joined));
    }

    [Fact]
    public async Task A_caller_that_began_after_a_read_was_sent_sends_its_own()
    {
        var reads = new SharedReads();
        var answers = new[] { new TaskCompletionSource<string>(), new TaskCompletionSource<string>() };
        var sent = 0;
        Task<string> Read() => answers[Interlocked.Increment(ref sent) - 1].Task;

        var older = reads.ReadAsync("secret/shop/regcred", SharedReads.Now(), Read, CancellationToken.None);
        var sentBy = SharedReads.Now();
        SpinWait.SpinUntil(() => SharedReads.Now() > sentBy); // the second caller begins strictly after the first read was sent
        var newer = reads.ReadAsync("secret/shop/regcred", SharedReads.Now(), Read, CancellationToken.None);
        answers[0].SetResult("before");
        answers[1].SetResult("after");

        Assert.Equal(("before", "after"), (await older, await newer));
        Assert.Equal(2, sent);
        Assert.Equal(0, reads.Joined);
    }

    [Fact]
    public async Task A_read_that_has_answered_is_not_kept()
    {
        var reads = new SharedReads();
        var began = SharedReads.Now();
        var sent = 0;
        Task<string> Read() => Task.FromResult($"answer {Interlocked.Increment(ref sent)}");

        var first = await reads.ReadAsync("serviceaccount/shop/default", began, Read, CancellationToken.None);
        var second = await reads.ReadAsync("serviceaccount/shop/default", began, Read, CancellationToken.None);

        Assert.Equal(("answer 1", "answer 2"), (first, second));
        Assert.Equal(0, reads.Joined);
    }

    [Fact]
    public async Task Different_objects_are_read_apart()
    {
        var reads = new SharedReads();
        var began = SharedReads.Now();
        var answer = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);

        var one = reads.ReadAsync("secret/shop/regcred", began, () => answer.Task, CancellationToken.None);
        var other = reads.ReadAsync("secret/billing/regcred", began, () => Task.FromResult("billing's"), CancellationToken.None);
        answer.SetResult("shop's");

        Assert.Equal(("shop's", "billing's"), (await one, await other));
        Assert.Equal((2, 0), (reads.Sent, reads.Joined));
    }

    [Fact]
    public async Task A_failed_read_fails_every_caller_that_joined_it_and_the_next_read_is_sent_anew()
    {
        var reads = new SharedReads();
        var began = SharedReads.Now();
        var answer = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);

        var first = reads.ReadAsync("node//gone", began, () => answer.Task, CancellationToken.None);
        var second = reads.ReadAsync("node//gone", began, () => answer.Task, CancellationToken.None);
        answer.SetException(new InvalidOperationException("node gone"));

        Assert.Equal("node gone", (await Assert.ThrowsAsync<InvalidOperationException>(() => first)).Message);
        Assert.Equal("node gone", (await Assert.ThrowsAsync<InvalidOperationException>(() => second)).Message);
        Assert.Equal("back", await reads.ReadAsync("node//gone", began, () => Task.FromResult("back"), CancellationToken.None));
    }

    [Fact]
    public async Task A_caller_that_stops_waiting_does_not_cancel_the_read_for_the_others()
    {
        var reads = new SharedReads();
        var began = SharedReads.Now();
        var answer = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = new CancellationTokenSource();

        var leaving = reads.ReadAsync("node//worker-1", began, () => answer.Task, stop.Token);
        var staying = reads.ReadAsync("node//worker-1", began, () => answer.Task, CancellationToken.None);
        await stop.CancelAsync();
        answer.SetResult("worker-1 as read");

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => leaving);
        Assert.Equal("worker-1 as read", await staying);
    }
}
