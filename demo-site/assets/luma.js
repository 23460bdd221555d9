// Luma storefront boot: configure edgecdp, send this page's view, product views on "View", and
// the demo login ("Sign in" in the header).
// `?q=<text>` is a search (the header's box submits to the men's catalog): the page view carries
// it as `siteSearch.q`. `?edge=<origin>` points the page at another edge (tests use it for the worker), `?debug=1`
// turns on the SDK's debug mode; both are kept on the site's own links. `?em=<email>` is the link
// of Luma's emails: the page view names that email as an ambiguous identity, and the parameter is
// then dropped from the address bar (it is never kept on links).
// Each product card gets a size and "Add to cart"; the header's cart button buys what is in it.
// For tests, <html> gets data-ecid, data-pageview="sent" (or "error:<message>"), data-identities
// (JSON of the identities the edge returned), data-segments (JSON of the segment ids the edge
// says the visitor is in, after each event), after a login data-login="done" (or
// "error:<message>"), after an add data-cart="<count>", after a purchase data-purchase="done";
// window.lumaLogin(email, crmid), lumaAddToCart(sku, size) and lumaBuy() act without clicks.
(function () {
  var params = new URLSearchParams(location.search);
  var root = document.documentElement;
  var keep = ["edge", "debug"].filter(function (k) { return params.has(k); });
  var campaignEmail = (params.get("em") || "").trim();

  if (params.has("em")) {
    // The email must not linger in the address bar, the page view's URL or the next referrer.
    var clean = new URL(location.href);
    clean.searchParams.delete("em");
    history.replaceState(history.state, "", clean.pathname + clean.search + clean.hash);
  }

  edgecdp("configure", {
    datastreamId: "ds-luma",
    orgId: "LUMA123@AdobeOrg",
    edgeDomain: params.get("edge") || location.origin,
    // The running hero is also decided in the browser, as product views happen on the page.
    onDeviceDecisioning: true,
    debug: params.get("debug") === "1"
  }).catch(report);

  var pageView = { eventType: "web.webpagedetails.pageViews", web: { webPageDetails: { name: document.body.dataset.page } } };
  // A search (the header's box) is the page view of its results, with what was searched for.
  var searched = (params.get("q") || "").trim().slice(0, 100);
  if (searched) {
    pageView.siteSearch = { q: searched };
    var note = document.getElementById("search-note");
    if (note) note.textContent = "Results for \u201c" + searched + "\u201d";
    document.querySelectorAll('input[name="q"]').forEach(function (input) { input.value = searched; });
  }
  // Someone arriving from an email is probably its recipient, not certainly: "ambiguous".
  if (/^[^@\s]+@[^@\s]+$/.test(campaignEmail)) {
    pageView.identityMap = { Email: [{ id: campaignEmail, authenticatedState: "ambiguous" }] };
  }

  // The page view asks for the page's decisions and renders them (the page is prehidden until
  // then: see the snippet in <head>).
  edgecdp("sendEvent", { renderDecisions: true, xdm: pageView })
    .then(function (result) { showSegments(result); return result.identity || edgecdp("getIdentity"); })
    .then(function (identity) {
      showIdentities(identity);
      root.dataset.pageview = "sent";
    })
    .catch(report);

  function report(err) {
    root.dataset.pageview = "error:" + message(err);
  }

  function message(err) {
    return (err && err.message) || String(err);
  }

  /** The footer (ECID and the person's identities) and the test hooks. */
  function showIdentities(identity) {
    root.dataset.ecid = identity.ECID;
    root.dataset.identities = JSON.stringify(identity);
    document.getElementById("ecid").textContent = identity.ECID;
    var person = Object.keys(identity)
      .filter(function (code) { return code !== "ECID"; })
      .map(function (code) { return code + " " + identity[code]; });
    document.getElementById("identities").textContent = person.length ? person.join(" · ") : "nobody yet (anonymous)";
  }

  /**
   * The segments the edge decided at this request (`result.profile.segments`), for tests and
   * the curious: what the visitor sees (the greeting, the hero) is the edge's decisions, which
   * sdk-js renders (`renderDecisions: true`).
   */
  function showSegments(result) {
    var profile = result && result.profile;
    var ids = ((profile && profile.segments) || []).map(function (s) { return s.id; });
    root.dataset.segments = JSON.stringify(ids);
  }

  /** "sarah.rose@example.com" → "Sarah": the demo knows no names, only identities. */
  function firstName(email) {
    var word = String(email).split("@")[0].split(/[._+-]/)[0];
    return word.charAt(0).toUpperCase() + word.slice(1);
  }

  function showSignedIn(name) {
    var button = document.getElementById("sign-in");
    document.getElementById("account-label").textContent = name;
    button.setAttribute("aria-label", "Signed in as " + name + ": switch account");
  }

  // The account shown in the header on every page of this tab after a login here.
  try {
    var signedIn = sessionStorage.getItem("luma.signedIn");
    if (signedIn) showSignedIn(signedIn);
  } catch (err) {
    // storage disabled: the header just offers "Sign in" again
  }

  /**
   * Logs in: a `userAccount.login` event naming the person by Email (primary) and CRMID, both
   * authenticated. Resolves with the sendEvent result (its `identity` holds what the edge
   * returned), rejects with the SDK's error.
   */
  function lumaLogin(email, crmid) {
    email = String(email || "").trim();
    crmid = String(crmid || "").trim();
    var identityMap = { Email: [{ id: email, authenticatedState: "authenticated", primary: true }] };
    if (crmid) identityMap.CRMID = [{ id: crmid, authenticatedState: "authenticated" }];
    delete root.dataset.login;
    var sent = edgecdp("sendEvent", { xdm: { eventType: "userAccount.login", identityMap: identityMap } });
    sent.then(
      function (result) {
        var identity = result.identity || {};
        var name = firstName(identity.Email || email);
        var greeting = document.querySelector("#greeting .wrap") || document.getElementById("greeting");
        greeting.textContent = "Hi " + name + ", welcome back to Luma.";
        showSignedIn(name);
        try { sessionStorage.setItem("luma.signedIn", name); } catch (err) { /* see above */ }
        if (result.identity) showIdentities(result.identity);
        showSegments(result);
        root.dataset.login = "done";
      },
      function (err) {
        root.dataset.login = "error:" + message(err);
      }
    );
    return sent;
  }
  window.lumaLogin = lumaLogin;

  // The cart: kept in this browser, bought from the header.
  function cart() {
    try { return JSON.parse(localStorage.getItem("luma.cart") || "[]"); } catch (err) { return []; }
  }

  function saveCart(items) {
    try { localStorage.setItem("luma.cart", JSON.stringify(items)); } catch (err) { /* storage disabled */ }
    var label = document.getElementById("cart-label");
    if (label) label.textContent = items.length ? "Buy " + items.length + (items.length === 1 ? " item" : " items") : "Cart empty";
    var button = document.getElementById("cart");
    if (button) button.disabled = !items.length;
  }

  /** A product's categories: its place in the catalog, and its activity (`running`). */
  function categories(d) {
    var list = [{ categoryID: d.category }];
    if (d.activity) list.push({ categoryID: d.activity });
    return list;
  }

  /** An XDM product list item for a card's product in a size. */
  function item(card, size) {
    var d = card.dataset;
    return {
      SKU: d.sku + "-" + size, name: d.name, priceTotal: Number(d.price), quantity: 1, currencyCode: "USD",
      productCategories: categories(d),
      _luma: { category: d.category.split("/")[0], size: size }
    };
  }

  /** Adds a product (by SKU, as on its card) in a size: a `commerce.productListAdds` event. */
  function lumaAddToCart(sku, size) {
    var card = document.querySelector('.card[data-sku="' + sku + '"]');
    if (!card) return Promise.reject(new Error("no product " + sku + " on this page"));
    var line = item(card, size);
    var sent = edgecdp("sendEvent", {
      xdm: { eventType: "commerce.productListAdds", commerce: { productListAdds: { value: 1 } }, productListItems: [line] }
    });
    return sent.then(function (result) {
      var items = cart().concat([line]);
      saveCart(items);
      root.dataset.cart = String(items.length);
      showSegments(result);
      return result;
    });
  }
  window.lumaAddToCart = lumaAddToCart;

  /** Buys the cart: a `commerce.purchases` event with the order. */
  function lumaBuy() {
    var items = cart();
    if (!items.length) return Promise.reject(new Error("the cart is empty"));
    var total = items.reduce(function (sum, i) { return sum + i.priceTotal; }, 0);
    delete root.dataset.purchase;
    return edgecdp("sendEvent", {
      xdm: {
        eventType: "commerce.purchases",
        commerce: { purchases: { value: 1 }, order: { purchaseID: "WEB-" + Date.now(), currencyCode: "USD", priceTotal: total } },
        productListItems: items
      }
    }).then(function (result) {
      saveCart([]);
      showSegments(result);
      var greeting = document.querySelector("#greeting .wrap") || document.getElementById("greeting");
      greeting.textContent = "Thank you for your order.";
      root.dataset.purchase = "done";
      return result;
    }, function (err) {
      root.dataset.purchase = "error:" + message(err);
      throw err;
    });
  }
  window.lumaBuy = lumaBuy;

  // Size and "Add to cart" on every product card; the cart button in the header.
  document.querySelectorAll(".card[data-sku]").forEach(function (card) {
    var row = document.createElement("div");
    row.className = "buy-row";
    var id = "size-" + card.dataset.sku;
    row.innerHTML = '<label for="' + id + '">Size</label> <select id="' + id + '" data-size>' +
      ["S", "M", "L", "XL"].map(function (s) { return "<option" + (s === "L" ? " selected" : "") + ">" + s + "</option>"; }).join("") +
      '</select> <button type="button" class="button small" data-add-to-cart>Add to cart</button>';
    card.appendChild(row);
  });
  document.addEventListener("click", function (e) {
    var add = e.target.closest && e.target.closest("[data-add-to-cart]");
    if (!add) return;
    var card = add.closest(".card");
    lumaAddToCart(card.dataset.sku, card.querySelector("[data-size]").value)
      .catch(function (err) { console.warn("[luma] add to cart not sent:", err); });
  });
  var account = document.getElementById("sign-in");
  if (account) {
    var cartButton = document.createElement("button");
    cartButton.type = "button";
    cartButton.id = "cart";
    cartButton.className = "account";
    cartButton.innerHTML = '<span id="cart-label">Cart empty</span>';
    cartButton.addEventListener("click", function () {
      lumaBuy().catch(function (err) { console.warn("[luma] purchase not sent:", err); });
    });
    account.parentNode.insertBefore(cartButton, account);
  }
  saveCart(cart());

  // The sign-in dialog.
  var dialog = document.getElementById("sign-in-dialog");
  var form = document.getElementById("sign-in-form");
  var error = document.getElementById("sign-in-error");
  document.getElementById("sign-in").addEventListener("click", function () {
    error.textContent = "";
    dialog.showModal();
  });
  dialog.querySelector("[data-close]").addEventListener("click", function () { dialog.close(); });
  form.addEventListener("change", function (e) {
    var account = e.target.closest('input[name="account"]');
    if (!account) return;
    form.elements.email.value = account.dataset.email;
    form.elements.crmid.value = account.dataset.crmid;
  });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var email = form.elements.email;
    var crmid = form.elements.crmid;
    var invalid = [email, crmid].filter(function (field) { return !field.checkValidity(); });
    [email, crmid].forEach(function (field) { field.setAttribute("aria-invalid", String(invalid.indexOf(field) >= 0)); });
    if (invalid.length) {
      error.textContent = invalid[0] === email ? "Enter your email address, like name@example.com." : "Enter your customer number, like crm-1042.";
      invalid[0].focus();
      return;
    }
    var submit = form.querySelector('[type="submit"]');
    submit.disabled = true;
    form.setAttribute("aria-busy", "true");
    error.textContent = "";
    lumaLogin(email.value, crmid.value)
      .then(function () { dialog.close(); }, function (err) { error.textContent = "Sign-in failed: " + message(err); })
      .then(function () {
        submit.disabled = false;
        form.removeAttribute("aria-busy");
      });
  });

  document.addEventListener("click", function (e) {
    var card = e.target.closest && e.target.closest("[data-view-product]") && e.target.closest("[data-sku]");
    if (!card) return;
    var d = card.dataset;
    edgecdp("sendEvent", {
      xdm: {
        eventType: "commerce.productViews",
        commerce: { productViews: { value: 1 } },
        productListItems: [{ SKU: d.sku, name: d.name, priceTotal: Number(d.price), quantity: 1, productCategories: categories(d) }]
      }
    }).then(function (result) { card.classList.add("viewed"); showSegments(result); }, function (err) { console.warn("[luma] product view not sent:", err); });
  });

  if (keep.length) {
    // The search form keeps them too (a GET form sends only its own fields).
    document.querySelectorAll("form.search").forEach(function (form) {
      keep.forEach(function (k) {
        var hidden = document.createElement("input");
        hidden.type = "hidden";
        hidden.name = k;
        hidden.value = params.get(k);
        form.appendChild(hidden);
      });
    });
    document.querySelectorAll('a[href^="/"]').forEach(function (a) {
      var url = new URL(a.getAttribute("href"), location.origin);
      keep.forEach(function (k) { url.searchParams.set(k, params.get(k)); });
      a.setAttribute("href", url.pathname + url.search + url.hash);
    });
  }
})();
