package hostile

// photoAndLiveCases are the routes of photos (#15), the shared-tab stream
// and live counts (#12) and the identities behind aliases (#12).
func photoAndLiveCases() []caseSpec {
	return []caseSpec{
		{route: "GET /api/v1/auctions/:id/photos", want: public, build: get("/api/v1/auctions/{A}/photos")},
		// Not a photo: the seller is told so (after authorization), anyone
		// else is refused before the body is read.
		{route: "POST /api/v1/auctions/:id/photos", want: "anon=401 seller=400|415|422 *=403", build: onFreshAuction("POST", "/api/v1/auctions/%d/photos", "", `{"photo": "not a photo"}`)},
		{route: "DELETE /api/v1/auctions/:id/photos/:photo", want: "anon=401 seller=404 *=403", build: onFreshAuction("DELETE", "/api/v1/auctions/%d/photos/999999", "", "")},
		{route: "PUT /api/v1/auctions/:id/photos/order", want: "anon=401 seller=404|422 *=403", build: onFreshAuction("PUT", "/api/v1/auctions/%d/photos/order", "", `{"order": [999999]}`)},
		{route: "GET /auctions/:id/photos", want: "anon=303 seller=200 *=403", build: onFreshAuction("GET", "/auctions/%d/photos", "", "")},
		{route: "POST /auctions/:id/photos", want: "anon=303 seller=303|400|415|422 *=403", build: onFreshAuction("POST", "/auctions/%d/photos", "", form("photo", "not a photo"))},
		{route: "POST /auctions/:id/photos/:photo/delete", want: "anon=303 seller=303|404 *=403", build: onFreshAuction("POST", "/auctions/%d/photos/999999/delete", "", "")},
		{route: "POST /auctions/:id/photos/:photo/move", want: "anon=303 seller=303|404|422 *=403", build: onFreshAuction("POST", "/auctions/%d/photos/999999/move", "", form("to", "1"))},
		{route: "GET /media/:name", want: "*=404", build: get("/media/" + "0000000000000000000000000000000000000000000000000000000000000000.jpg")},

		{route: "GET /stream/mux", want: actorStream, build: get("/stream/mux?ids={A}")},
		{route: "GET /api/v1/me/watchers", want: userAPI, build: get("/api/v1/me/watchers")},
		{route: "GET /api/v1/auctions/:id/bidders", want: "anon=401 seller,admin=200 *=403", build: get("/api/v1/auctions/{A}/bidders")},
	}
}
