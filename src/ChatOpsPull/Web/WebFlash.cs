using Microsoft.AspNetCore.DataProtection;

namespace ChatOpsPull.Web;

/// <summary>
/// The one-time message shown after a button's post/redirect/get: kept in a short-lived cookie that only this bot can
/// write (Data Protection), read and removed by the next page view.
/// </summary>
public sealed class WebFlash(IDataProtectionProvider protection)
{
    public const string CookieName = "chatopspull.flash";
    private const int MaxText = 2000;
    private readonly IDataProtector _protector = protection.CreateProtector("ChatOpsPull.Web.Flash");

    public void Set(HttpContext context, string text)
    {
        var value = text.Length <= MaxText ? text : string.Concat(text.AsSpan(0, MaxText), "…");
        context.Response.Cookies.Append(CookieName, _protector.Protect(value), new CookieOptions
        {
            HttpOnly = true,
            SameSite = SameSiteMode.Strict,
            Secure = context.Request.IsHttps,
            Path = "/",
            MaxAge = TimeSpan.FromMinutes(1),
        });
    }

    /// <summary>The message, once; null when there is none or the cookie is not one this bot wrote.</summary>
    public string? Take(HttpContext context)
    {
        if (!context.Request.Cookies.TryGetValue(CookieName, out var raw) || string.IsNullOrEmpty(raw))
        {
            return null;
        }

        context.Response.Cookies.Delete(CookieName, new CookieOptions { Path = "/" });
        try
        {
            return _protector.Unprotect(raw);
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return null;
        }
    }
}
