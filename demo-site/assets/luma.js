// Luma storefront boot: configure edgecdp, send this page's view, and product views on "View".
// `?edge=<origin>` points the page at another edge (tests use it for the worker), `?debug=1`
// turns on the SDK's debug mode; both are kept on the site's own links.
// For tests, <html> gets data-ecid and data-pageview="sent" (or "error:<message>").
(function () {
  var params = new URLSearchParams(location.search);
  var root = document.documentElement;
  var keep = ["edge", "debug"].filter(function (k) { return params.has(k); });

  edgecdp("configure", {
    datastreamId: "ds-luma",
    orgId: "LUMA123@AdobeOrg",
    edgeDomain: params.get("edge") || location.origin,
    debug: params.get("debug") === "1"
  }).catch(report);

  edgecdp("sendEvent", {
    xdm: { eventType: "web.webpagedetails.pageViews", web: { webPageDetails: { name: document.body.dataset.page } } }
  })
    .then(function (result) { return result.identity || edgecdp("getIdentity"); })
    .then(function (identity) {
      root.dataset.ecid = identity.ECID;
      document.getElementById("ecid").textContent = identity.ECID;
      root.dataset.pageview = "sent";
    })
    .catch(report);

  function report(err) {
    root.dataset.pageview = "error:" + ((err && err.message) || err);
  }

  document.addEventListener("click", function (e) {
    var card = e.target.closest && e.target.closest("[data-view-product]") && e.target.closest("[data-sku]");
    if (!card) return;
    var d = card.dataset;
    edgecdp("sendEvent", {
      xdm: {
        eventType: "commerce.productViews",
        commerce: { productViews: { value: 1 } },
        productListItems: [{ SKU: d.sku, name: d.name, priceTotal: Number(d.price), quantity: 1, productCategories: [{ categoryID: d.category }] }]
      }
    }).then(function () { card.classList.add("viewed"); }, function (err) { console.warn("[luma] product view not sent:", err); });
  });

  if (keep.length) {
    document.querySelectorAll('a[href^="/"]').forEach(function (a) {
      var url = new URL(a.getAttribute("href"), location.origin);
      keep.forEach(function (k) { url.searchParams.set(k, params.get(k)); });
      a.setAttribute("href", url.pathname + url.search + url.hash);
    });
  }
})();
