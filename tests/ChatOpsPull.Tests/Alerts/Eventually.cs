namespace ChatOpsPull.Tests.Alerts;

internal static class Eventually
{
    /// <summary>Polls until the condition holds; fails with what was seen when the time is up.</summary>
    public static async Task HoldsAsync(Func<bool> condition, TimeSpan timeout, Func<string> whatWasSeen)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Condition not met within {timeout.TotalSeconds} s. {whatWasSeen()}");
            }

            await Task.Delay(50);
        }
    }
}
