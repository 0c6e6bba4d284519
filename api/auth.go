package api

import (
	"context"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	authv1 "github.com/shopkit/shop/gen/shop/auth/v1"
	"github.com/shopkit/shop/gen/shop/auth/v1/authv1connect"
	"github.com/shopkit/shop/internal/identity"
	"github.com/shopkit/shop/internal/validation"
)

// AuthServer serves shop.auth.v1.AuthService.
type AuthServer struct {
	Identity *identity.Service
}

var _ authv1connect.AuthServiceHandler = (*AuthServer)(nil)

// Register implements AuthService.
func (s *AuthServer) Register(ctx context.Context, req *connect.Request[authv1.RegisterRequest]) (*connect.Response[authv1.RegisterResponse], error) {
	m := req.Msg
	u, err := s.Identity.Register(ctx, identity.RegisterInput{
		Username: m.GetUsername(), Email: m.GetEmail(), Password: m.GetPassword(),
		FirstName: m.GetFirstName(), LastName: m.GetLastName(),
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&authv1.RegisterResponse{User: userProto(u)}), nil
}

// Login implements AuthService.
func (s *AuthServer) Login(ctx context.Context, req *connect.Request[authv1.LoginRequest]) (*connect.Response[authv1.LoginResponse], error) {
	sess, _, err := s.Identity.Login(ctx, req.Msg.GetUsername(), req.Msg.GetPassword())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&authv1.LoginResponse{
		AccessToken: sess.AccessToken, TokenType: "bearer",
		ExpiresIn: int32(sess.ExpiresIn.Seconds()), RefreshToken: sess.RefreshToken,
	}), nil
}

// Refresh implements AuthService.
func (s *AuthServer) Refresh(ctx context.Context, req *connect.Request[authv1.RefreshRequest]) (*connect.Response[authv1.RefreshResponse], error) {
	sess, err := s.Identity.Refresh(ctx, req.Msg.GetRefreshToken())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&authv1.RefreshResponse{
		AccessToken: sess.AccessToken, TokenType: "bearer",
		ExpiresIn: int32(sess.ExpiresIn.Seconds()), RefreshToken: sess.RefreshToken,
	}), nil
}

// Logout implements AuthService.
func (s *AuthServer) Logout(ctx context.Context, _ *connect.Request[authv1.LogoutRequest]) (*connect.Response[authv1.LogoutResponse], error) {
	p, err := mustPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.Identity.Logout(ctx, p.UserID); err != nil {
		return nil, err
	}
	return connect.NewResponse(&authv1.LogoutResponse{}), nil
}

// Me implements AuthService.
func (s *AuthServer) Me(ctx context.Context, _ *connect.Request[authv1.MeRequest]) (*connect.Response[authv1.MeResponse], error) {
	p, err := mustPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	u, err := s.Identity.Me(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&authv1.MeResponse{User: userProto(u)}), nil
}

// UpdateProfile implements AuthService.
func (s *AuthServer) UpdateProfile(ctx context.Context, req *connect.Request[authv1.UpdateProfileRequest]) (*connect.Response[authv1.UpdateProfileResponse], error) {
	p, err := mustPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	u, err := s.Identity.UpdateProfile(ctx, p.UserID, identity.ProfileUpdate{
		FirstName: m.FirstName, LastName: m.LastName, Email: m.Email,
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&authv1.UpdateProfileResponse{User: userProto(u)}), nil
}

// ChangePassword implements AuthService.
func (s *AuthServer) ChangePassword(ctx context.Context, req *connect.Request[authv1.ChangePasswordRequest]) (*connect.Response[authv1.ChangePasswordResponse], error) {
	p, err := mustPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	sess, err := s.Identity.ChangePassword(ctx, p.UserID, req.Msg.GetCurrentPassword(), req.Msg.GetNewPassword())
	if err != nil {
		if err == identity.ErrInvalidCredentials {
			return nil, validation.New("current_password", "is wrong")
		}
		return nil, err
	}
	return connect.NewResponse(&authv1.ChangePasswordResponse{
		AccessToken: sess.AccessToken, TokenType: "bearer",
		ExpiresIn: int32(sess.ExpiresIn.Seconds()), RefreshToken: sess.RefreshToken,
	}), nil
}

// ListAddresses implements AuthService.
func (s *AuthServer) ListAddresses(ctx context.Context, _ *connect.Request[authv1.ListAddressesRequest]) (*connect.Response[authv1.ListAddressesResponse], error) {
	p, err := mustPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	list, err := s.Identity.ListAddresses(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	out := &authv1.ListAddressesResponse{Addresses: make([]*authv1.Address, 0, len(list))}
	for _, a := range list {
		out.Addresses = append(out.Addresses, addressProto(a))
	}
	return connect.NewResponse(out), nil
}

// AddAddress implements AuthService.
func (s *AuthServer) AddAddress(ctx context.Context, req *connect.Request[authv1.AddAddressRequest]) (*connect.Response[authv1.AddAddressResponse], error) {
	p, err := mustPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	a, err := s.Identity.AddAddress(ctx, p.UserID, addressFrom(req.Msg.GetAddress()))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&authv1.AddAddressResponse{Address: addressProto(a)}), nil
}

// UpdateAddress implements AuthService.
func (s *AuthServer) UpdateAddress(ctx context.Context, req *connect.Request[authv1.UpdateAddressRequest]) (*connect.Response[authv1.UpdateAddressResponse], error) {
	p, err := mustPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	in := addressFrom(req.Msg.GetAddress())
	in.ID = req.Msg.GetAddressId()
	a, err := s.Identity.UpdateAddress(ctx, p.UserID, in)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&authv1.UpdateAddressResponse{Address: addressProto(a)}), nil
}

// DeleteAddress implements AuthService.
func (s *AuthServer) DeleteAddress(ctx context.Context, req *connect.Request[authv1.DeleteAddressRequest]) (*connect.Response[authv1.DeleteAddressResponse], error) {
	p, err := mustPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.Identity.DeleteAddress(ctx, p.UserID, req.Msg.GetAddressId()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&authv1.DeleteAddressResponse{}), nil
}

// ListUsers implements AuthService.
func (s *AuthServer) ListUsers(ctx context.Context, req *connect.Request[authv1.ListUsersRequest]) (*connect.Response[authv1.ListUsersResponse], error) {
	users, total, err := s.Identity.ListUsers(ctx, req.Msg.GetSkip(), req.Msg.GetLimit())
	if err != nil {
		return nil, err
	}
	out := &authv1.ListUsersResponse{Total: total, Users: make([]*authv1.User, 0, len(users))}
	for _, u := range users {
		out.Users = append(out.Users, userProto(u))
	}
	return connect.NewResponse(out), nil
}

// SetUserRole implements AuthService.
func (s *AuthServer) SetUserRole(ctx context.Context, req *connect.Request[authv1.SetUserRoleRequest]) (*connect.Response[authv1.SetUserRoleResponse], error) {
	p, err := mustPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	// The schema allows only customer, staff and admin.
	u, err := s.Identity.SetRole(ctx, p.UserID, req.Msg.GetUserId(), identity.Role(req.Msg.GetRole()))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&authv1.SetUserRoleResponse{User: userProto(u)}), nil
}

func userProto(u identity.User) *authv1.User {
	return &authv1.User{
		Id: u.ID, Username: u.Username, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName,
		Role: string(u.Role), CreatedAt: timestamppb.New(u.CreatedAt),
	}
}

func addressProto(a identity.Address) *authv1.Address {
	return &authv1.Address{
		Id: a.ID, Kind: string(a.Kind), FullName: a.FullName, Line1: a.Line1, Line2: a.Line2, City: a.City,
		Region: a.Region, PostalCode: a.PostalCode, Country: a.Country, Phone: a.Phone, IsDefault: a.IsDefault,
	}
}

func addressFrom(a *authv1.Address) identity.Address {
	return identity.Address{
		Kind: identity.AddressKind(a.GetKind()), FullName: a.GetFullName(), Line1: a.GetLine1(), Line2: a.GetLine2(),
		City: a.GetCity(), Region: a.GetRegion(), PostalCode: a.GetPostalCode(), Country: a.GetCountry(),
		Phone: a.GetPhone(), IsDefault: a.GetIsDefault(),
	}
}
